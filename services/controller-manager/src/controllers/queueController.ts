import { QueueController as SharedQueueController, type ControllerContext as SharedControllerContext } from "@kubelab/client";
import type { Logger } from "@kubelab/service-kit";

// The loop's shape lives in @kubelab/client, shared with the cloud-controller-manager.
export type ControllerContext = SharedControllerContext<Logger>;
export abstract class QueueController extends SharedQueueController<ControllerContext> {}
