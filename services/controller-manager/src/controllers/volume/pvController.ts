import { clone, create } from "@bufbuild/protobuf";
import {
  claimRefOf,
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_DYNAMICALLY_PROVISIONED,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  NO_PROVISIONER,
  PersistentVolumeClaimSchema,
  PersistentVolumeClaimStatusSchema,
  PersistentVolumeSchema,
  PersistentVolumeStatusSchema,
  VOLUME_BINDING_WAIT,
  claimClass,
  findMatchingVolume,
  formatTime,
  isVolumeBoundToClaim,
  volumeBindingMode,
  volumeMismatch,
  type PersistentVolume,
  type PersistentVolumeClaim,
  type StorageClass,
} from "@kubelab/api";
import { ignoreNotFound, writeStatus, type Informer } from "@kubelab/client";
import { QueueController, type ControllerContext } from "../queueController.js";

const CLAIM = "claim:";
const VOLUME = "volume:";
const claimKey = (c: PersistentVolumeClaim) => `${CLAIM}${c.metadata!.namespace}/${c.metadata!.name}`;
const volumeKey = (name: string) => `${VOLUME}${name}`;

/** The ExternalProvisioning event's text, as the PV controller words it. */
export const externalProvisioningMessage = (provisioner: string) =>
  `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`;

/** What an unbound claim with no volume to take is waiting for: an event, and annotations to add. */
export interface UnboundClaimWait {
  event: EventArgs;
  /** The provisioner the claim is handed to, if any. */
  provisioner?: string;
}

/** An event's type, reason and message. */
type EventArgs = ["Normal" | "Warning", string, string];

/** A copy of a claim's status with another phase (and, when bound, the volume's capacity and modes). */
function claimStatus(claim: PersistentVolumeClaim, phase: string, volume?: PersistentVolume) {
  const s = claim.status ? clone(PersistentVolumeClaimStatusSchema, claim.status) : create(PersistentVolumeClaimStatusSchema);
  s.phase = phase;
  if (volume) {
    s.capacity = { ...(volume.spec?.capacity ?? {}) };
    s.accessModes = [...(volume.spec?.accessModes ?? [])];
  }
  return s;
}

/**
 * Why a claim found no volume, and what it waits for (pv_controller.go's syncUnboundClaim):
 * a claim of no class waits for a volume by hand; one of a missing class fails; a
 * WaitForFirstConsumer class waits for the scheduler's choice of node; a class with a
 * provisioner hands the claim to it (the storage-provisioner annotations).
 */
export function unboundClaimWait(pvc: PersistentVolumeClaim, sc: StorageClass | undefined): UnboundClaimWait {
  const cls = claimClass(pvc);
  if (!cls) return { event: ["Normal", "FailedBinding", "no persistent volumes available for this claim and no storage class is set"] };
  if (!sc) return { event: ["Warning", "ProvisioningFailed", `storageclass.storage.k8s.io "${cls}" not found`] };
  if (volumeBindingMode(sc) === VOLUME_BINDING_WAIT && !pvc.metadata?.annotations[ANN_SELECTED_NODE])
    return { event: ["Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding"] };
  if (sc.provisioner === NO_PROVISIONER)
    return { event: ["Warning", "ProvisioningFailed", `no volume plugin matched name: ${NO_PROVISIONER}`] };
  return { event: ["Normal", "ExternalProvisioning", externalProvisioningMessage(sc.provisioner)], provisioner: sc.provisioner };
}

/**
 * Kubernetes' persistent volume controller (pkg/controller/volume/persistentvolume): binds each
 * claim to a volume (the one it names, else the best match), keeps both phases, hands claims with
 * nothing to bind to their class's provisioner, and, when a bound claim is gone, releases its
 * volume and reclaims it by policy (Retain keeps it; Delete of a provisioned volume is its
 * provisioner's; this lab has no in-tree deleter or recycler, so those volumes fail as they would
 * in Kubernetes without the plugin). Claims and volumes share one queue, keyed "claim:ns/name"
 * and "volume:name".
 */
export class PersistentVolumeController extends QueueController {
  readonly name = "persistentvolume-binder";
  private readonly claims: Informer<PersistentVolumeClaim>;
  private readonly volumes: Informer<PersistentVolume>;
  private readonly classes: Informer<StorageClass>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.claims = ctx.informers.for<PersistentVolumeClaim>("persistentvolumeclaims");
    this.volumes = ctx.informers.for<PersistentVolume>("persistentvolumes");
    this.classes = ctx.informers.for<StorageClass>("storageclasses");
    const claimChanged = (c: PersistentVolumeClaim) => {
      this.queue.add(claimKey(c));
      if (c.spec?.volumeName) this.queue.add(volumeKey(c.spec.volumeName));
      // A volume bound to it is released when it goes.
      for (const v of this.volumes.list()) if (isVolumeBoundToClaim(v, c)) this.queue.add(volumeKey(v.metadata!.name));
    };
    this.claims.addEventHandler({ onAdd: claimChanged, onUpdate: (_, c) => claimChanged(c), onDelete: claimChanged });
    const volumeChanged = (v: PersistentVolume) => {
      this.queue.add(volumeKey(v.metadata!.name));
      const ref = v.spec?.claimRef;
      if (ref) this.queue.add(`${CLAIM}${ref.namespace}/${ref.name}`);
      // A new or freed volume may be what a pending claim waits for.
      if (!ref || v.status?.phase === "Available")
        for (const c of this.claims.list()) if (c.status?.phase === "Pending" && !c.spec?.volumeName) this.queue.add(claimKey(c));
    };
    this.volumes.addEventHandler({ onAdd: volumeChanged, onUpdate: (_, v) => volumeChanged(v), onDelete: volumeChanged });
    this.classes.addEventHandler({
      onAdd: () => this.claims.list().forEach((c) => c.status?.phase === "Pending" && this.queue.add(claimKey(c))),
    });
  }

  protected allKeys(): string[] {
    return [...this.claims.list().map(claimKey), ...this.volumes.list().map((v) => volumeKey(v.metadata!.name))];
  }

  async reconcile(key: string): Promise<void> {
    if (key.startsWith(CLAIM)) {
      const claim = this.claims.get(key.slice(CLAIM.length));
      if (claim) await this.syncClaim(claim);
    } else if (key.startsWith(VOLUME)) {
      const volume = this.volumes.get(key.slice(VOLUME.length));
      if (volume) await this.syncVolume(volume);
    }
  }

  /** pv_controller.go's syncClaim: an unbound claim is bound or waits; a bound one is checked. */
  private async syncClaim(claim: PersistentVolumeClaim): Promise<void> {
    const ann = claim.metadata!.annotations;
    const volumeName = claim.spec?.volumeName ?? "";
    const volume = volumeName ? this.volumes.get(volumeName) : undefined;
    if (ann[ANN_BIND_COMPLETED] !== undefined) {
      if (!volume) return this.claimLost(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!");
      if (!volume.spec?.claimRef || isVolumeBoundToClaim(volume, claim)) return this.bind(volume, claim);
      return this.claimLost(claim, "ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly");
    }
    if (volumeName) {
      // The user asked for this volume.
      if (!volume) return this.claimPending(claim);
      if (volume.spec?.claimRef && !isVolumeBoundToClaim(volume, claim)) {
        this.ctx.recorder.event(claim, "Warning", "FailedBinding", `volume "${volumeName}" already bound to a different claim.`);
        return this.claimPending(claim);
      }
      const mismatch = volumeMismatch(volume, claim);
      if (mismatch && !volume.spec?.claimRef) {
        this.ctx.recorder.event(claim, "Warning", "VolumeMismatch", `Cannot bind to requested volume "${volumeName}": ${mismatch}`);
        return this.claimPending(claim);
      }
      return this.bind(volume, claim);
    }
    const sc = this.classes.get(claimClass(claim));
    const delayBinding = volumeBindingMode(sc) === VOLUME_BINDING_WAIT && !ann[ANN_SELECTED_NODE];
    const match = findMatchingVolume(claim, this.volumes.list(), { delayBinding });
    if (match) return this.bind(match, claim);
    const wait = unboundClaimWait(claim, sc);
    if (wait.provisioner && ann[ANN_STORAGE_PROVISIONER] !== wait.provisioner) {
      const next = clone(PersistentVolumeClaimSchema, claim);
      next.metadata!.annotations[ANN_STORAGE_PROVISIONER] = wait.provisioner;
      next.metadata!.annotations[ANN_BETA_STORAGE_PROVISIONER] = wait.provisioner;
      await this.ctx.client.update(next);
    }
    this.ctx.recorder.event(claim, ...wait.event);
    await this.claimPending(claim);
  }

  /**
   * Binds the volume and the claim to each other, in Kubernetes' order: the volume's claimRef,
   * its Bound phase, the claim's volumeName, its Bound status. Each step is skipped when done, so
   * a bind cut short is finished by the next sync.
   */
  private async bind(volume: PersistentVolume, claim: PersistentVolumeClaim): Promise<void> {
    const m = claim.metadata!;
    let pv = volume;
    if (!pv.spec?.claimRef?.uid || pv.spec.claimRef.uid !== m.uid) {
      const next = clone(PersistentVolumeSchema, pv);
      if (!next.spec!.claimRef) next.metadata!.annotations[ANN_BOUND_BY_CONTROLLER] = "yes";
      next.spec!.claimRef = claimRefOf(claim);
      pv = await this.ctx.client.update(next);
    }
    if (pv.status?.phase !== "Bound") pv = (await this.volumePhase(pv, "Bound")) ?? pv;
    let pvc = claim;
    if (pvc.spec?.volumeName !== pv.metadata!.name || pvc.metadata!.annotations[ANN_BIND_COMPLETED] === undefined) {
      const next = clone(PersistentVolumeClaimSchema, pvc);
      if (!next.spec!.volumeName) next.metadata!.annotations[ANN_BOUND_BY_CONTROLLER] = "yes";
      next.spec!.volumeName = pv.metadata!.name;
      next.metadata!.annotations[ANN_BIND_COMPLETED] = "yes";
      pvc = await this.ctx.client.update(next);
    }
    const s = pvc.status;
    const capacity = pv.spec?.capacity ?? {};
    const modes = pv.spec?.accessModes ?? [];
    if (s?.phase !== "Bound" || s.capacity.storage !== capacity.storage || s.accessModes.join() !== modes.join()) {
      await writeStatus(this.ctx.client, pvc, claimStatus(pvc, "Bound", pv));
    }
  }

  private async claimPending(claim: PersistentVolumeClaim): Promise<void> {
    if (claim.status?.phase === "Pending") return;
    await writeStatus(this.ctx.client, claim, claimStatus(claim, "Pending"));
  }

  private async claimLost(claim: PersistentVolumeClaim, reason: string, message: string): Promise<void> {
    if (claim.status?.phase === "Lost") return;
    this.ctx.recorder.event(claim, "Warning", reason, message);
    await writeStatus(this.ctx.client, claim, claimStatus(claim, "Lost"));
  }

  /** Sets the volume's phase (and lastPhaseTransitionTime, as the API server's strategy does), with an event when given. */
  private async volumePhase(pv: PersistentVolume, phase: string, event?: EventArgs): Promise<PersistentVolume | undefined> {
    if (pv.status?.phase === phase) return pv;
    if (event) this.ctx.recorder.event(pv, ...event);
    const status = create(PersistentVolumeStatusSchema, {
      phase,
      message: event?.[0] === "Warning" ? event[2] : "",
      reason: "",
      lastPhaseTransitionTime: formatTime(),
    });
    return writeStatus(this.ctx.client, pv, status);
  }

  /** pv_controller.go's syncVolume: Available when free, Bound when its claim has it, Released (then reclaimed) when its claim is gone. */
  private async syncVolume(volume: PersistentVolume): Promise<void> {
    const ref = volume.spec?.claimRef;
    if (!ref?.uid) {
      await this.volumePhase(volume, "Available");
      return;
    }
    let claim = this.claims.get(`${ref.namespace}/${ref.name}`);
    // The cache may be behind a claim just created: ask the API server before releasing.
    if (!claim) claim = await ignoreNotFound(this.ctx.client.get<PersistentVolumeClaim>("persistentvolumeclaims", ref.namespace, ref.name));
    if (claim && claim.metadata!.uid !== ref.uid) claim = undefined;
    if (!claim) return this.reclaim(volume);
    if (claim.spec?.volumeName === volume.metadata!.name) {
      await this.volumePhase(volume, "Bound");
      return;
    }
    if (!claim.spec?.volumeName) {
      // Being bound: the claim's sync finishes it.
      this.queue.add(claimKey(claim));
      return;
    }
    // The claim went to another volume: a volume this controller bound is freed.
    if (volume.metadata!.annotations[ANN_BOUND_BY_CONTROLLER] !== undefined) {
      const next = clone(PersistentVolumeSchema, volume);
      next.spec!.claimRef = undefined;
      delete next.metadata!.annotations[ANN_BOUND_BY_CONTROLLER];
      const updated = await this.ctx.client.update(next);
      await this.volumePhase(updated, "Available");
    }
  }

  /** Released, then the policy: Retain keeps the volume; Delete is its provisioner's, or fails without one; Recycle fails. */
  private async reclaim(volume: PersistentVolume): Promise<void> {
    const phase = volume.status?.phase;
    let pv = volume;
    if (phase !== "Released" && phase !== "Failed") pv = (await this.volumePhase(volume, "Released")) ?? volume;
    if (pv.status?.phase === "Failed") return;
    switch (pv.spec?.persistentVolumeReclaimPolicy) {
      case "Delete":
        if (pv.metadata!.annotations[ANN_DYNAMICALLY_PROVISIONED]) return; // the provisioner deletes it
        await this.volumePhase(pv, "Failed", [
          "Warning",
          "VolumeFailedDelete",
          `error getting deleter volume plugin for volume "${pv.metadata!.name}": no deletable volume plugin matched`,
        ]);
        return;
      case "Recycle":
        await this.volumePhase(pv, "Failed", ["Warning", "VolumeFailedRecycle", "No recycler plugin found for the volume!"]);
        return;
    }
  }
}
