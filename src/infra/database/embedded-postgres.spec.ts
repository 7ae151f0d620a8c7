import { embeddedUrl, socketDirFor } from './embedded-postgres';

describe('embedded PostgreSQL connection', () => {
  it('puts the socket in the cluster folder and connects through it', () => {
    const dir = socketDirFor('/tmp/odc-test-abc/pg', 54321);
    expect(dir).toBe('/tmp/odc-test-abc/pg');
    expect(embeddedUrl('p/w', 54321, dir)).toBe(
      'postgres://odc:p%2Fw@127.0.0.1:54321/odc?host=%2Ftmp%2Fodc-test-abc%2Fpg',
    );
  });

  it('falls back to TCP when the socket path is too long for the kernel', () => {
    const long = `/tmp/${'x'.repeat(100)}/pg`;
    expect(socketDirFor(long, 54321)).toBeUndefined();
    expect(embeddedUrl('pw', 54321, undefined)).toBe('postgres://odc:pw@127.0.0.1:54321/odc');
  });

  it('falls back to TCP for a folder the server command line could not carry', () => {
    expect(socketDirFor('/tmp/my data/pg', 54321)).toBeUndefined();
    expect(socketDirFor("/tmp/it's/pg", 54321)).toBeUndefined();
  });
});
