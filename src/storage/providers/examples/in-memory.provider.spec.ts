import { describeStorageProviderContract } from '../../../../test/storage/provider-contract';
import { InMemoryStorageProvider } from './in-memory.provider';

// The docs' example keeps the contract, so the example cannot drift from what a provider must do.
describeStorageProviderContract('in-memory (the docs’ example)', () =>
  Promise.resolve({ provider: new InMemoryStorageProvider(), clusterId: 'cluster-1', zone: 'zone-a' }),
);
