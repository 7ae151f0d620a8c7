import { Inject, Injectable } from '@nestjs/common';
import type { KubernetesObject } from '@kubernetes/client-node';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import {
  LABELS,
  MANAGED_BY,
  type Manifest,
  type SnapshotInfo,
  type SnapshotRequest,
  type VolumeInfo,
  type VolumeRequest,
} from './contract';
import { DeployerSettings } from './deployer-settings';
import { KUBE_CLIENT } from './deployer.service';
import { KubeClient } from './kube/kube-client';
import { applyFailure, reportKubeFailures } from './kube/kube-failures';
import { assertNoViolations, manifestViolations } from './policy';
import { sameJson } from '../infra/kubernetes/json-equal';
import { isQuantity, parseQuantity } from '../infra/kubernetes/quantity';
import {
  importedContentName,
  snapshotManifests,
  staticVolumeName,
  volumeManifests,
} from './volumes/volume-manifests';
import {
  contentNameOf,
  importedContentOf,
  isContentOf,
  isDisk,
  isManaged,
  isStaticVolumeOf,
  SNAPSHOT_API,
  type Claim,
  type PodWithVolumes,
  type Snapshot,
  type SnapshotContent,
} from './volumes/volume-objects';
import { snapshotInfo, volumeInfo } from './volumes/volume-views';

/** Labels the deployer sets and reads to find what is its own: never the caller's to change. */
const PROTECTED_LABELS: readonly string[] = [LABELS.managedBy, LABELS.persistentDisk, LABELS.externalId];

/**
 * Persistent disks at the cluster level: claims (dynamic, restored from a snapshot, or bound to an
 * existing volume through a static PV) and VolumeSnapshots. They carry the persistent-disk label,
 * so deleting a deployment leaves them; only objects the deployer manages are read or deleted.
 */
@Injectable()
export class VolumesService {
  constructor(
    @Inject(KUBE_CLIENT) private readonly kube: KubeClient,
    private readonly settings: DeployerSettings,
  ) {}

  async createVolume(request: VolumeRequest): Promise<{ created: boolean; volume: VolumeInfo }> {
    const namespace = this.settings.namespaceFor(request.namespace);
    let manifests = volumeManifests(request, namespace);
    this.assertPolicy(manifests);
    return reportKubeFailures(async () => {
      if (request.from_snapshot) {
        const snapshot = await this.readSnapshot(namespace, request.from_snapshot);
        if (!isManaged(snapshot)) {
          throw new AppError(
            CommonErrorCode.NotFound,
            `Snapshot ${request.from_snapshot} not found in namespace ${namespace}`,
          );
        }
        // The external-provisioner refuses to restore a snapshot into a smaller claim ("requested
        // volume size … is less than the size … for the source snapshot"): ask for at least its size.
        const restoreSize = snapshot?.status?.restoreSize;
        if (isQuantity(restoreSize) && parseQuantity(restoreSize) > parseQuantity(request.size)) {
          manifests = volumeManifests({ ...request, size: restoreSize! }, namespace);
          this.assertPolicy(manifests);
        }
      }
      const staticVolume = manifests.find(({ manifest }) => manifest.kind === 'PersistentVolume');
      const [existing, existingVolume] = await Promise.all([
        this.kube.read(manifests.at(-1)!.manifest),
        staticVolume ? this.kube.read(staticVolume.manifest) : undefined,
      ]);
      if (existing && !isDisk(existing)) {
        throw new AppError(
          CommonErrorCode.Conflict,
          `PersistentVolumeClaim ${namespace}/${request.name} exists and is not a disk the deployer manages`,
        );
      }
      if (existingVolume && !isStaticVolumeOf(existingVolume, namespace, request.name)) {
        throw new AppError(
          CommonErrorCode.Conflict,
          `PersistentVolume ${existingVolume.metadata?.name} exists and is not this disk's`,
        );
      }
      for (const { field, manifest } of manifests) {
        try {
          await this.kube.apply(manifest, undefined);
        } catch (error) {
          throw applyFailure(field, manifest, error);
        }
      }
      return { created: existing === undefined, volume: await this.getVolume(request.name, namespace) };
    });
  }

  async getVolume(name: string, namespace?: string): Promise<VolumeInfo> {
    const ns = this.settings.namespaceFor(namespace);
    return reportKubeFailures(async () => {
      const [claim, pods] = await Promise.all([
        this.kube.read({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name, namespace: ns },
        }),
        this.kube.list('v1', 'Pod', ns, '', 'status.phase!=Succeeded,status.phase!=Failed'),
      ]);
      if (!isDisk(claim)) {
        throw new AppError(CommonErrorCode.NotFound, `Volume ${name} not found in namespace ${ns}`);
      }
      return volumeInfo(claim as Claim, pods);
    });
  }

  async listVolumes(namespace?: string): Promise<VolumeInfo[]> {
    const ns = this.settings.namespaceFor(namespace);
    return reportKubeFailures(async () => {
      const [claims, pods] = await Promise.all([
        this.kube.list(
          'v1',
          'PersistentVolumeClaim',
          ns,
          `${LABELS.managedBy}=${MANAGED_BY},${LABELS.persistentDisk}`,
        ),
        this.kube.list('v1', 'Pod', ns, '', 'status.phase!=Succeeded,status.phase!=Failed'),
      ]);
      return claims.map((claim) => volumeInfo(claim as Claim, pods as PodWithVolumes[]));
    });
  }

  /**
   * Deletes the claim (and the static PV the deployer made for it; its reclaim policy keeps the
   * data). Refused with 409 while a pod mounts it; 204 also when it did not exist.
   */
  async deleteVolume(name: string, namespace?: string): Promise<void> {
    const ns = this.settings.namespaceFor(namespace);
    await reportKubeFailures(async () => {
      const volume = await this.getVolume(name, ns).catch((error: unknown) => {
        if (error instanceof AppError && error.code === CommonErrorCode.NotFound) {
          return undefined;
        }
        throw error;
      });
      if (!volume) {
        return;
      }
      if (volume.used_by.length > 0) {
        throw new AppError(
          CommonErrorCode.Conflict,
          `Volume ${name} is mounted by ${volume.used_by.join(', ')}; delete those first`,
          { used_by: volume.used_by },
        );
      }
      await this.kube.delete({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: ns },
      });
      const staticVolume = await this.kube.read({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: staticVolumeName(ns, name) },
      });
      if (staticVolume && isStaticVolumeOf(staticVolume, ns, name)) {
        await this.kube.delete(staticVolume);
      }
    });
  }

  /**
   * A snapshot of a disk here, or (`source`) an import of one the storage backend holds: a
   * pre-provisioned VolumeSnapshotContent (Retain) and the VolumeSnapshot bound to it.
   */
  async createSnapshot(request: SnapshotRequest): Promise<{ created: boolean; snapshot: SnapshotInfo }> {
    const namespace = this.settings.namespaceFor(request.namespace);
    const manifests = snapshotManifests(request, namespace);
    this.assertPolicy(manifests);
    const snapshot = manifests.at(-1)!.manifest;
    return reportKubeFailures(async () => {
      const [existing] = await Promise.all([
        this.readSnapshot(namespace, request.name),
        request.source
          ? this.assertContentFree(manifests[0].manifest, namespace, request.name)
          : this.assertDisk(namespace, request.volume ?? ''),
      ]);
      assertOurs(existing, `VolumeSnapshot ${namespace}/${request.name}`);
      assertSameSource(existing, snapshot);
      for (const { field, manifest } of manifests) {
        try {
          await this.kube.apply(manifest, manifest === snapshot ? existing : undefined);
        } catch (error) {
          throw applyFailure(field, manifest, error);
        }
      }
      return { created: existing === undefined, snapshot: await this.getSnapshot(request.name, namespace) };
    });
  }

  async getSnapshot(name: string, namespace?: string): Promise<SnapshotInfo> {
    const ns = this.settings.namespaceFor(namespace);
    return reportKubeFailures(async () => {
      const snapshot = await this.readSnapshot(ns, name);
      if (!snapshot || !isManaged(snapshot)) {
        throw new AppError(CommonErrorCode.NotFound, `Snapshot ${name} not found in namespace ${ns}`);
      }
      const contentName = contentNameOf(snapshot);
      return snapshotInfo(snapshot, contentName ? await this.readContent(contentName) : undefined);
    });
  }

  /** One list of snapshots and one of contents, however many snapshots there are. */
  async listSnapshots(namespace?: string, volume?: string): Promise<SnapshotInfo[]> {
    const ns = this.settings.namespaceFor(namespace);
    const [snapshots, contents] = await reportKubeFailures(() =>
      Promise.all([
        this.kube.list(SNAPSHOT_API, 'VolumeSnapshot', ns, `${LABELS.managedBy}=${MANAGED_BY}`),
        this.kube.list(SNAPSHOT_API, 'VolumeSnapshotContent', undefined, ''),
      ]),
    );
    const contentsByName = new Map(contents.map((content) => [content.metadata?.name, content]));
    return (snapshots as Snapshot[])
      .map((snapshot) => snapshotInfo(snapshot, contentsByName.get(contentNameOf(snapshot))))
      .filter((snapshot) => volume === undefined || snapshot.volume === volume);
  }

  /**
   * 204 also when it did not exist. An import's content goes too (its Retain policy keeps the
   * backend's snapshot), also when an earlier attempt left it without its snapshot.
   */
  async deleteSnapshot(name: string, namespace?: string): Promise<void> {
    const ns = this.settings.namespaceFor(namespace);
    await reportKubeFailures(async () => {
      const snapshot = await this.readSnapshot(ns, name);
      if (snapshot && !isManaged(snapshot)) {
        return;
      }
      if (snapshot) {
        await this.kube.delete(snapshot);
      }
      if (!snapshot || importedContentOf(snapshot)) {
        const content = await this.readContent(importedContentName(ns, name));
        if (isManaged(content) && isContentOf(content, ns, name)) {
          await this.kube.delete(content!);
        }
      }
    });
  }

  /** Merges labels onto a disk's claim; the deployer's own labels cannot change (422). */
  async updateVolumeLabels(
    name: string,
    labels: Record<string, string>,
    namespace?: string,
  ): Promise<VolumeInfo> {
    const ns = this.settings.namespaceFor(namespace);
    const claim = await reportKubeFailures(() =>
      this.kube.read({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: ns } }),
    );
    if (!isDisk(claim)) {
      throw new AppError(CommonErrorCode.NotFound, `Volume ${name} not found in namespace ${ns}`);
    }
    await this.mergeLabels(claim!, labels);
    return this.getVolume(name, ns);
  }

  /** Merges labels onto a snapshot; the deployer's own labels cannot change (422). */
  async updateSnapshotLabels(
    name: string,
    labels: Record<string, string>,
    namespace?: string,
  ): Promise<SnapshotInfo> {
    const ns = this.settings.namespaceFor(namespace);
    const snapshot = await reportKubeFailures(() => this.readSnapshot(ns, name));
    if (!isManaged(snapshot)) {
      throw new AppError(CommonErrorCode.NotFound, `Snapshot ${name} not found in namespace ${ns}`);
    }
    await this.mergeLabels(snapshot!, labels);
    return this.getSnapshot(name, ns);
  }

  private async mergeLabels(object: KubernetesObject, labels: Record<string, string>): Promise<void> {
    const current = object.metadata?.labels ?? {};
    const violations = Object.keys(labels)
      .filter((key) => PROTECTED_LABELS.includes(key) && labels[key] !== current[key])
      .map((key) => ({
        path: `labels.${key}`,
        rule: `${key} is the deployer's own label and cannot change`,
      }));
    assertNoViolations(violations, 'label change');
    await reportKubeFailures(() =>
      this.kube.mergePatch(
        {
          apiVersion: object.apiVersion ?? 'v1',
          kind: object.kind ?? '',
          metadata: { name: object.metadata?.name ?? '', namespace: object.metadata?.namespace },
        },
        { metadata: { labels } },
      ),
    );
  }

  /** The claim to snapshot must be a disk the deployer manages (not a deployment's own claim). */
  private async assertDisk(namespace: string, volume: string): Promise<void> {
    const claim = await this.kube.read({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: volume, namespace },
    });
    if (!isDisk(claim)) {
      throw new AppError(CommonErrorCode.NotFound, `Volume ${volume} not found in namespace ${namespace}`);
    }
  }

  /**
   * An import's content may exist already only as this snapshot's, of the same backend snapshot
   * (Kubernetes keeps a content's source immutable): anything else is 409.
   */
  private async assertContentFree(desired: Manifest, namespace: string, name: string): Promise<void> {
    const existing = await this.readContent(desired.metadata.name);
    if (!existing) {
      return;
    }
    if (!isManaged(existing) || !isContentOf(existing, namespace, name)) {
      throw new AppError(
        CommonErrorCode.Conflict,
        `VolumeSnapshotContent ${desired.metadata.name} exists and is not this snapshot's`,
      );
    }
    const wanted = desired.spec as SnapshotContent['spec'];
    if (existing.spec?.driver !== wanted?.driver || !sameJson(existing.spec?.source, wanted?.source)) {
      throw new AppError(
        CommonErrorCode.Conflict,
        `Snapshot ${namespace}/${name} was imported from another snapshot handle or driver; delete it first`,
      );
    }
  }

  private readSnapshot(namespace: string, name: string): Promise<Snapshot | undefined> {
    return this.kube.read({
      apiVersion: SNAPSHOT_API,
      kind: 'VolumeSnapshot',
      metadata: { name, namespace },
    });
  }

  private readContent(name: string): Promise<SnapshotContent | undefined> {
    return this.kube.read({ apiVersion: SNAPSHOT_API, kind: 'VolumeSnapshotContent', metadata: { name } });
  }

  private assertPolicy(manifests: { field: string; manifest: Manifest }[]): void {
    const violations = manifests.flatMap(({ field, manifest }) =>
      manifestViolations(manifest, field, this.settings.policy),
    );
    assertNoViolations(violations, 'request');
  }
}

/** An object of that name that the deployer does not manage is never taken over. */
function assertOurs(existing: KubernetesObject | undefined, what: string): void {
  if (existing && !isManaged(existing)) {
    throw new AppError(CommonErrorCode.Conflict, `${what} exists and is not managed by the deployer`);
  }
}

/**
 * A snapshot's source cannot change in Kubernetes: a repeat that names another one is a conflict
 * here rather than Kubernetes' refusal (or, on a server that does not check, a silent change).
 */
function assertSameSource(existing: KubernetesObject | undefined, desired: Manifest): void {
  const source = (object: unknown) => (object as Snapshot | undefined)?.spec?.source;
  if (existing && !sameJson(source(existing), source(desired))) {
    throw new AppError(
      CommonErrorCode.Conflict,
      `Snapshot ${desired.metadata.namespace}/${desired.metadata.name} exists with another source; delete it first`,
    );
  }
}
