import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { isUniqueViolation } from '../infra/database/database-errors';
import { AppError, CommonErrorCode } from '../infra/errors/app-error';
import { CapacitySync } from './capacity/capacity-sync';
import { Cluster } from './cluster.entity';
import { ClusterErrorCode } from './cluster.errors';
import { ClusterClients } from './client/cluster-clients';
import type { CreateClusterDto, UpdateClusterDto } from './dto/cluster.dto';
import { CLUSTER_OCCUPANTS, type ClusterOccupants } from './ports';
import { ClusterRegistry } from './registry/cluster-registry';
import { checkTlsMaterial } from './secrets/pem-check';
import { clusterSecretContext, SecretBox, type ClusterSecretColumn } from './secrets/secret-box';

/** A cluster's secrets in plaintext, only ever in memory between the request and the secret box. */
interface ClusterSecrets {
  clientKey: string | null;
  token: string | null;
}

/** The flags an admin flips without touching the connection. */
export type ClusterFlags = Partial<Pick<Cluster, 'enabled' | 'draining'>>;

/**
 * The registry's writes: registration and updates (PEMs checked, secrets encrypted, the connection
 * tested before it is saved), flags, removal. Each write is also applied to this replica's
 * registry at once; the others learn of it through NOTIFY.
 */
@Injectable()
export class ClustersService {
  private readonly logger = new Logger('Clusters');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly registry: ClusterRegistry,
    private readonly clients: ClusterClients,
    private readonly secretBox: SecretBox,
    private readonly capacity: CapacitySync,
    @Inject(CLUSTER_OCCUPANTS) private readonly occupants: ClusterOccupants,
  ) {}

  list(): Promise<Cluster[]> {
    return this.dataSource.getRepository(Cluster).find({ order: { priority: 'ASC', name: 'ASC' } });
  }

  async get(id: string): Promise<Cluster> {
    const cluster = await this.dataSource.getRepository(Cluster).findOneBy({ id });
    if (!cluster) {
      throw new AppError(CommonErrorCode.NotFound, `No cluster ${id}`);
    }
    return cluster;
  }

  async create(dto: CreateClusterDto): Promise<Cluster> {
    const cluster = this.dataSource.getRepository(Cluster).create({
      id: randomUUID(),
      name: dto.name,
      deployerUrl: dto.deployer_url,
      enabled: dto.enabled ?? true,
      draining: false,
      priority: dto.priority ?? 100,
      mtlsEnabled: dto.mtls_enabled ?? dto.client_cert !== undefined,
      caCert: dto.ca_cert ?? null,
      clientCert: dto.client_cert ?? null,
      profile: dto.profile ?? {},
    });
    const secrets = { clientKey: dto.client_key ?? null, token: dto.token ?? null };
    assertUsableConnection(cluster, secrets, true);
    this.seal(cluster, secrets);
    await this.test(cluster);
    try {
      await this.dataSource.getRepository(Cluster).insert(cluster);
    } catch (error) {
      throw nameTakenOr(error, cluster.name);
    }
    return this.afterWrite(cluster.id, cluster.status === 'healthy');
  }

  /** What is sent changes; `null` removes a PEM or the token. The connection is tested when it changed. */
  async update(id: string, dto: UpdateClusterDto): Promise<Cluster> {
    const current = await this.get(id);
    const next = Object.assign(new Cluster(), current, {
      name: dto.name ?? current.name,
      deployerUrl: dto.deployer_url ?? current.deployerUrl,
      enabled: dto.enabled ?? current.enabled,
      priority: dto.priority ?? current.priority,
      mtlsEnabled: dto.mtls_enabled ?? current.mtlsEnabled,
      caCert: dto.ca_cert === undefined ? current.caCert : dto.ca_cert,
      clientCert: dto.client_cert === undefined ? current.clientCert : dto.client_cert,
      profile: dto.profile ?? current.profile,
    });
    const secretsSent = dto.client_key !== undefined || dto.token !== undefined;
    const tlsSent =
      dto.ca_cert !== undefined || dto.client_cert !== undefined || dto.client_key !== undefined;
    const connectionChanged =
      secretsSent ||
      tlsSent ||
      next.deployerUrl !== current.deployerUrl ||
      next.mtlsEnabled !== current.mtlsEnabled;
    if (connectionChanged) {
      const secrets = {
        clientKey: dto.client_key === undefined ? this.unseal(current, 'client_key') : dto.client_key,
        token: dto.token === undefined ? this.unseal(current, 'token') : dto.token,
      };
      assertUsableConnection(next, secrets, tlsSent);
      this.seal(next, secrets);
      await this.test(next);
    }
    try {
      await this.dataSource.getRepository(Cluster).update(id, {
        name: next.name,
        deployerUrl: next.deployerUrl,
        enabled: next.enabled,
        priority: next.priority,
        mtlsEnabled: next.mtlsEnabled,
        caCert: next.caCert,
        clientCert: next.clientCert,
        profile: next.profile,
        // Written only with a new connection, so a health check meanwhile is not overwritten.
        ...(connectionChanged
          ? {
              clientKeyEncrypted: next.clientKeyEncrypted,
              tokenEncrypted: next.tokenEncrypted,
              keyId: next.keyId,
              status: next.status,
              lastHealthCheck: next.lastHealthCheck,
              lastError: next.lastError,
            }
          : {}),
      });
    } catch (error) {
      throw nameTakenOr(error, next.name);
    }
    // A new profile may map nodes to other GPU types: the capacity rows are redone at once.
    return this.afterWrite(id, next.status === 'healthy' && (connectionChanged || dto.profile !== undefined));
  }

  async setFlags(id: string, flags: ClusterFlags): Promise<Cluster> {
    await this.get(id);
    await this.dataSource.getRepository(Cluster).update(id, flags);
    return this.afterWrite(id, false);
  }

  /** Only a cluster that takes no new reservations (draining or disabled) may be removed. */
  async remove(id: string): Promise<Cluster> {
    const cluster = await this.get(id);
    if (cluster.enabled && !cluster.draining) {
      throw new AppError(
        ClusterErrorCode.ClusterActive,
        `Cluster ${cluster.name} still takes new reservations: drain or disable it before removing it`,
      );
    }
    // Ended reservations keep their history (their cluster becomes unknown); live ones must end first.
    const live = await this.occupants.liveReservations(id);
    if (live > 0) {
      throw new AppError(
        ClusterErrorCode.ClusterActive,
        `Cluster ${cluster.name} still runs ${live} reservation${live === 1 ? '' : 's'}: remove it once they have ended`,
        { live_reservations: live },
      );
    }
    // Disks whose volumes live there (k8s-csi) would lose their home: their users' data first.
    const disks = await this.occupants.disksHomed(id);
    if (disks > 0) {
      throw new AppError(
        ClusterErrorCode.ClusterActive,
        `Cluster ${cluster.name} holds the volumes of ${disks} disk${disks === 1 ? '' : 's'}: move them (a reservation elsewhere restores one from its snapshot) or delete them first`,
        { disks },
      );
    }
    await this.dataSource.getRepository(Cluster).delete(id);
    await this.registry.reloadOne(id);
    return cluster;
  }

  /** Encrypts the secrets into the row, all under the current key (so `key_id` names it truly). */
  private seal(cluster: Cluster, secrets: ClusterSecrets): void {
    const seal = (plaintext: string | null, column: ClusterSecretColumn) =>
      plaintext === null ? null : this.secretBox.encrypt(plaintext, clusterSecretContext(cluster.id, column));
    cluster.clientKeyEncrypted = seal(secrets.clientKey, 'client_key');
    cluster.tokenEncrypted = seal(secrets.token, 'token');
    cluster.keyId = cluster.clientKeyEncrypted || cluster.tokenEncrypted ? this.secretBox.currentKeyId : null;
  }

  private unseal(cluster: Cluster, column: ClusterSecretColumn): string | null {
    const blob = column === 'client_key' ? cluster.clientKeyEncrypted : cluster.tokenEncrypted;
    return blob ? this.secretBox.decrypt(blob, clusterSecretContext(cluster.id, column)) : null;
  }

  /** Connects with the cluster's connection as it would be saved: healthy, unreachable or auth_failed. */
  private async test(cluster: Cluster): Promise<void> {
    const client = this.clients.transient(cluster);
    try {
      const probe = await client.probe();
      cluster.status = probe.status;
      cluster.lastError = probe.error ?? null;
      cluster.lastHealthCheck = new Date();
    } finally {
      await client.close();
    }
  }

  /** This replica sees the write at once; a healthy cluster's capacity is synced when asked. */
  private async afterWrite(id: string, syncCapacity: boolean): Promise<Cluster> {
    await this.registry.reloadOne(id);
    const cluster = await this.get(id);
    if (syncCapacity) {
      await this.capacity.sync(cluster, this.clients.for(id)).catch((error: unknown) => {
        // The cron's next round syncs it; the registration itself stands.
        this.logger.warn({ cluster: cluster.name, err: error }, 'capacity sync after a change failed');
      });
    }
    return cluster;
  }
}

/**
 * Settings that cannot work, refused before anything is saved: PEMs that do not parse, do not
 * match or have expired (when sent, or the connection's kind changed); a deployer URL no client
 * can be made for; mTLS without a certificate and key; TLS settings on a plain-http deployer URL.
 */
function assertUsableConnection(cluster: Cluster, secrets: ClusterSecrets, checkPems: boolean): void {
  // The DTO's pattern is the URL's shape; whether its host parses (IDNA, IPv4 rules, the port's
  // range) is the URL parser's to say, and the deployer client's constructor would throw on it.
  if (!URL.canParse(cluster.deployerUrl)) {
    throw new AppError(
      ClusterErrorCode.InvalidConnection,
      `deployer_url ${JSON.stringify(cluster.deployerUrl)} is not a URL this server can connect to`,
    );
  }
  if (checkPems) {
    const problems = checkTlsMaterial({
      ...(cluster.caCert !== null ? { caCert: cluster.caCert } : {}),
      ...(cluster.clientCert !== null ? { clientCert: cluster.clientCert } : {}),
      ...(secrets.clientKey !== null ? { clientKey: secrets.clientKey } : {}),
    });
    if (problems.length > 0) {
      throw new AppError(
        ClusterErrorCode.InvalidCertificate,
        problems.map((problem) => `${problem.field}: ${problem.reason}`).join('; '),
        { fields: problems.map((problem) => ({ field: problem.field, problems: [problem.reason] })) },
      );
    }
  }
  if (cluster.mtlsEnabled && (cluster.clientCert === null || secrets.clientKey === null)) {
    throw new AppError(
      ClusterErrorCode.InvalidConnection,
      'mtls_enabled needs client_cert and client_key (the certificate ODC presents to the deployer)',
    );
  }
  const tlsConfigured = cluster.mtlsEnabled || cluster.caCert !== null || cluster.clientCert !== null;
  if (tlsConfigured && !cluster.deployerUrl.startsWith('https://')) {
    throw new AppError(
      ClusterErrorCode.InvalidConnection,
      'ca_cert, client_cert and mtls_enabled need an https:// deployer_url',
    );
  }
}

function nameTakenOr(error: unknown, name: string): unknown {
  return isUniqueViolation(error)
    ? new AppError(ClusterErrorCode.ClusterNameTaken, `A cluster named ${name} is already registered`)
    : error;
}
