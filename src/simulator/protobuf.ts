/**
 * Just enough Kubernetes protobuf to read a TokenRequest: kubectl's typed clients send
 * `kubectl create token` as `application/vnd.kubernetes.protobuf` and, unlike for other requests,
 * do not fall back to JSON. Everything else the simulator reads is JSON.
 *
 * The wire format: the magic `k8s\0`, then a `runtime.Unknown` whose field 2 holds the object's own
 * bytes; in a TokenRequest, field 2 is the spec, whose field 1 repeats the audiences and field 4 is
 * `expirationSeconds`.
 */
import { StatusError } from './status';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from('k8s\0', 'latin1');

type Field = { number: number; varint?: number; bytes?: Buffer };

function varint(buffer: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buffer.length; i += 1) {
    const byte = buffer[i]!; // i < buffer.length
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      return [value, i + 1];
    }
    scale *= 128;
  }
  throw new Error('truncated varint');
}

/** The top-level fields of one message (varints and length-delimited fields; fixed-width ones skipped). */
function fields(buffer: Buffer): Field[] {
  const found: Field[] = [];
  let at = 0;
  while (at < buffer.length) {
    const [key, afterKey] = varint(buffer, at);
    const [number, wireType] = [Math.floor(key / 8), key % 8];
    if (wireType === 0) {
      const [value, next] = varint(buffer, afterKey);
      found.push({ number, varint: value });
      at = next;
    } else if (wireType === 2) {
      const [length, start] = varint(buffer, afterKey);
      if (start + length > buffer.length) {
        throw new Error('truncated field');
      }
      found.push({ number, bytes: buffer.subarray(start, start + length) });
      at = start + length;
    } else if (wireType === 1 || wireType === 5) {
      at = afterKey + (wireType === 1 ? 8 : 4);
    } else {
      throw new Error(`unsupported wire type ${wireType}`);
    }
  }
  return found;
}

const field = (message: Buffer, number: number) => fields(message).find((f) => f.number === number);

/** The spec of a protobuf-encoded TokenRequest. */
export function tokenRequestSpecFromProtobuf(body: Buffer): {
  audiences: string[];
  expirationSeconds?: number;
} {
  try {
    if (!body.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new Error('no k8s protobuf envelope');
    }
    const raw = field(body.subarray(MAGIC.length), 2)?.bytes ?? Buffer.alloc(0);
    const spec = fields(field(raw, 2)?.bytes ?? Buffer.alloc(0));
    const seconds = spec.find((f) => f.number === 4)?.varint;
    return {
      audiences: spec.filter((f) => f.number === 1 && f.bytes).map((f) => f.bytes!.toString('utf8')),
      ...(seconds !== undefined ? { expirationSeconds: seconds } : {}),
    };
  } catch (error) {
    throw new StatusError('BadRequest', `the TokenRequest could not be decoded: ${(error as Error).message}`);
  }
}
