import "./kinds/index.js";

export * from "./registry.js";
export {
  ApiError,
  ignoreNotFound,
  isAlreadyExists,
  isConflict,
  isForbidden,
  isGone,
  isInvalid,
  isNotFound,
  isUnavailable,
  isUnreachable,
  REASON_KEY,
  CAUSES_KEY,
} from "./apiError.js";
export type { ApiErrorOptions, Cause, ErrorSubject, StatusReason } from "./apiError.js";
export * from "./codec.js";
export { encodeMessage } from "./binaryEncoder.js";
export { decodeMessage } from "./binaryDecoder.js";
export * from "./quantity.js";
export * from "./validation/fieldErrors.js";
export { validateObjectMeta, validateObjectMetaUpdate } from "./validation/objectMeta.js";
export { qualifiedNameErrors, labelValueErrors, validateLabels } from "./validation/labels.js";
export { dns1123LabelErrors, dns1123SubdomainErrors } from "./validation/names.js";
export { LabelSelector, SelectorParseError, type Requirement } from "./selectors/labelSelector.js";
export { FieldSelector, FieldSelectorError } from "./selectors/fieldSelector.js";
export { objectMatcher } from "./selectors/objectMatcher.js";
export { humanDuration, age } from "./kinds/print.js";
export { podDisplayStatus, podQOSClass } from "./kinds/pod.js";
export { nodeReadyStatus } from "./kinds/node.js";

export * from "./gen/kubelab/meta/v1/meta_pb.js";
export * from "./gen/kubelab/core/v1/pod_pb.js";
export * from "./gen/kubelab/core/v1/node_pb.js";
export * from "./gen/kubelab/core/v1/namespace_pb.js";
export * from "./gen/kubelab/core/v1/config_pb.js";
export * from "./gen/kubelab/core/v1/event_pb.js";
export * from "./gen/kubelab/coordination/v1/lease_pb.js";
export * from "./gen/kubelab/apps/v1/apps_pb.js";
export * from "./gen/kubelab/core/v1/service_pb.js";
export {
  isHeadless,
  isExternallyAccessible,
  isValidIPv4Cidr,
  needsHealthCheck,
  needsNodePorts,
  serviceExternalIp,
  targetPortOf,
  LOAD_BALANCER_CLEANUP_FINALIZER,
} from "./kinds/service.js";
export * from "./gen/kubelab/batch/v1/job_pb.js";
export * from "./gen/kubelab/autoscaling/v1/scale_pb.js";
export * from "./gen/kubelab/autoscaling/v2/hpa_pb.js";
export * from "./gen/kubelab/metrics/v1beta1/metrics_pb.js";
export * from "./gen/kubelab/core/v1/persistentvolume_pb.js";
export * from "./gen/kubelab/storage/v1/storageclass_pb.js";
export { validatePersistentVolume, validatePersistentVolumeClaim, validatePersistentVolumeClaimUpdate } from "./kinds/storage.js";
export { hpaTargets, HPA_RESOURCE_NAMES } from "./kinds/horizontalPodAutoscaler.js";
export * from "./kinds/hpaBehavior.js";
export { cpuUsageQuantity, memoryUsageQuantity, topCpu, topMemory } from "./kinds/resourceMetrics.js";
export { intOrPercent } from "./kinds/deployment.js";
export { JOB_CONTROLLER_UID_LABEL, JOB_NAME_LABEL, jobFinishedCondition } from "./kinds/job.js";
export * from "./gen/kubelab/batch/v1/cronjob_pb.js";
export {
  CONCURRENCY_POLICIES,
  CRONJOB_INSTANTIATE_ANNOTATION,
  CRONJOB_NAME_MAX_LENGTH,
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION,
  jobFromCronJobTemplate,
} from "./kinds/cronJob.js";
export {
  isKnownTimeZone,
  parseSchedule,
  scheduleError,
  scheduleTimesBetween,
  ScheduleParseError,
  type CronSchedule,
} from "./cron/schedule.js";
export * from "./gen/kubelab/apiserver/v1/api_pb.js";
export { KUBELAB_VERSION } from "./version.js";
export { apiResources } from "./discovery.js";
export * from "./helpers/index.js";
export * from "./gen/kubelab/core/v1/podlogs_pb.js";
export * from "./gen/kubelab/core/v1/exec_pb.js";
export * from "./gen/kubelab/core/v1/portforward_pb.js";
export * from "./gen/kubelab/kubelet/v1/kubelet_pb.js";
export * from "./gen/kubelab/podnetwork/v1/podnetwork_pb.js";
export { POD_NETWORK_LABEL } from "./podNetwork.js";
export { patchStrategyOf, type FieldPatchStrategy } from "./patchStrategies.js";
export { applyStrategicMergePatch, StrategicMergePatchError } from "./strategicMergePatch.js";
export {
  decodeKubernetesProtobuf,
  KubernetesProtobufError,
  KUBERNETES_PROTOBUF,
  type DecodedKubernetesProtobuf,
} from "./kubernetesProtobuf/decode.js";
export { pruneEmptyUnknownFields } from "./kubernetesProtobuf/prune.js";
