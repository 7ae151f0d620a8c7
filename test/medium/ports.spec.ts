import type { DataSource } from 'typeorm';
import { HoldersForStorage, liveReservationsOn, TimelineForStorage } from '../../src/reservations/ports';
import { ReservationEvent } from '../../src/reservations/reservation-event.entity';
import { RESERVATION_STATUSES } from '../../src/reservations/reservation.entity';
import { disksHomedOn } from '../../src/storage/cluster-occupancy';
import { aCluster, aDisk, aReservation, aSnapshot, aUser } from '../factories';
import { mediumDatabase, type MediumDatabase } from '../support/medium';

/**
 * What the upper domains answer the lower ones through their ports (src/storage/ports.ts,
 * src/clusters/ports.ts): the answers storage and clusters act on without reading those tables.
 */
describe('the answers behind the ports', () => {
  let database: MediumDatabase;
  let db: DataSource;

  beforeAll(async () => {
    database = await mediumDatabase();
    db = database.dataSource;
  });

  afterAll(() => database.close());

  describe("what still lives on a cluster (clusters' question before removing one)", () => {
    it('counts the reservations that hold GPUs there, not queued or ended ones, nor other clusters', async () => {
      const [here, elsewhere] = [await aCluster(db), await aCluster(db)];
      const owner = await aUser(db);
      for (const status of RESERVATION_STATUSES) {
        await aReservation(db, { ownerId: owner.id, status, clusterId: here.id, nodeName: 'n1' });
      }
      await aReservation(db, {
        ownerId: owner.id,
        status: 'active',
        clusterId: elsewhere.id,
        nodeName: 'n1',
      });

      expect(await liveReservationsOn(db, here.id)).toBe(4); // placing, provisioning, active, ending
      expect(await liveReservationsOn(db, elsewhere.id)).toBe(1);
    });

    it('counts the disks whose volume lives there, or whose pending restore starts from a snapshot there', async () => {
      const [here, elsewhere] = [await aCluster(db), await aCluster(db)];
      await aDisk(db, { volumeClusterId: here.id, volumeId: 'vol-1' });
      await aDisk(db, { volumeClusterId: here.id, volumeId: 'vol-2', status: 'purged' });
      const moving = await aDisk(db, { volumeClusterId: elsewhere.id, volumeId: 'vol-3' });
      const snapshot = await aSnapshot(db, moving, { clusterId: here.id });
      await db.query('UPDATE disks SET restore_from = $1 WHERE id = $2', [snapshot.id, moving.id]);
      await aDisk(db); // never used: no home yet

      expect(await disksHomedOn(db, here.id)).toBe(2);
      expect(await disksHomedOn(db, elsewhere.id)).toBe(1);
    });
  });

  describe("a disk's holder (storage's question before releasing or reusing a disk)", () => {
    it('says whether each holder is live and when it ended', async () => {
      const holders = new HoldersForStorage(db);
      const active = await aReservation(db, { status: 'active' });
      const ended = await aReservation(db, { status: 'cancelled', noPersist: true });

      expect(await holders.get(active.id)).toMatchObject({ id: active.id, live: true, status: 'active' });
      expect(await holders.get(ended.id)).toMatchObject({
        live: false,
        noPersist: true,
        endedAt: ended.endedAt,
      });
      expect(await holders.get('00000000-0000-4000-8000-000000000000')).toBeNull();

      const many = await holders.getMany([active.id, ended.id, active.id]);
      expect([...many.keys()].sort()).toEqual([active.id, ended.id].sort());
      expect(await holders.getMany([])).toEqual(new Map());
    });

    it('finds the ended reservations that still hold a disk, and only those', async () => {
      const holders = new HoldersForStorage(db);
      const live = await aReservation(db, { status: 'active' });
      const ended = await aReservation(db, { status: 'expired' });
      await aDisk(db, { ownerId: live.ownerId, inUseBy: live.id });
      await aDisk(db, { ownerId: ended.ownerId, inUseBy: ended.id });
      await aDisk(db);

      expect(await holders.endedHoldingDisks(10)).toEqual([ended.id]);
      expect(await holders.endedHoldingDisks(0)).toEqual([]);
    });

    it('knows a reservation was provisioned from its timeline', async () => {
      const holders = new HoldersForStorage(db);
      const reservation = await aReservation(db, { status: 'active' });
      expect(await holders.wasProvisioned(reservation.id)).toBe(false);

      await db.getRepository(ReservationEvent).insert({
        reservationId: reservation.id,
        fromStatus: 'placing',
        toStatus: 'provisioning',
        message: 'placed',
      });
      expect(await holders.wasProvisioned(reservation.id)).toBe(true);
    });
  });

  it("appends storage's steps to a reservation's timeline in storage's transaction, or not at all", async () => {
    const timeline = new TimelineForStorage();
    const reservation = await aReservation(db, { status: 'active' });

    await expect(
      db.transaction(async (tx) => {
        await timeline.append(tx, reservation.id, { message: 'lost with the transaction' });
        throw new Error('storage failed');
      }),
    ).rejects.toThrow('storage failed');
    await db.transaction((tx) =>
      timeline.append(tx, reservation.id, { message: 'disk work attached', details: { disk: 'work' } }),
    );

    const lines = await db.getRepository(ReservationEvent).findBy({ reservationId: reservation.id });
    expect(lines).toEqual([
      expect.objectContaining({ message: 'disk work attached', details: { disk: 'work' }, toStatus: null }),
    ]);
  });
});
