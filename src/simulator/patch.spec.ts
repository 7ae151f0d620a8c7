import { jsonPatch, mergePatch, strategicMergePatch, type Json } from './patch';

const deployment = {
  spec: {
    template: {
      spec: {
        containers: [
          { name: 'app', image: 'nginx:1', env: [{ name: 'A', value: '1' }] },
          { name: 'sidecar', image: 'envoy:1' },
        ],
      },
    },
  },
} as unknown as Json;

describe('patches', () => {
  it('merge patch replaces lists and deletes nulls', () => {
    expect(mergePatch({ a: 1, b: [1, 2], c: { d: 1 } }, { b: [3], c: { d: null } })).toEqual({
      a: 1,
      b: [3],
      c: {},
    });
  });

  it('strategic merge patch merges containers by name and stores no directive', () => {
    // What `kubectl apply` sends for an image bump of one container.
    const patched = strategicMergePatch(deployment, {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }],
            containers: [{ name: 'app', image: 'nginx:2', '$setElementOrder/env': [{ name: 'A' }] }],
          },
        },
      },
    });
    expect(JSON.stringify(patched)).not.toContain('$');
    expect(patched).toEqual({
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'sidecar', image: 'envoy:1' },
              { name: 'app', image: 'nginx:2', env: [{ name: 'A', value: '1' }] },
            ],
          },
        },
      },
    });
  });

  it('honours $patch: delete on list items and maps, and $retainKeys', () => {
    const patched = strategicMergePatch(deployment, {
      spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } },
    });
    expect(
      (patched as { spec: { template: { spec: { containers: unknown[] } } } }).spec.template.spec.containers,
    ).toHaveLength(1);
    expect(strategicMergePatch({ a: { x: 1 }, b: 2 }, { a: { $patch: 'delete' } })).toEqual({ b: 2 });
    expect(
      strategicMergePatch(
        { strategy: { type: 'RollingUpdate', rollingUpdate: {} } },
        { strategy: { type: 'Recreate', $retainKeys: ['type'] } },
      ),
    ).toEqual({
      strategy: { type: 'Recreate' },
    });
  });

  it('JSON patch applies operations and rejects malformed ones with 400', () => {
    expect(jsonPatch({ a: [1] }, [{ op: 'add', path: '/a/-', value: 2 }])).toEqual({ a: [1, 2] });
    expect(() => jsonPatch({}, [{ op: 'add' }])).toThrow('needs a string "op" and "path"');
    expect(() => jsonPatch({}, [null])).toThrow('needs a string "op" and "path"');
  });
});
