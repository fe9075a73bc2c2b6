import type * as grpc from "@grpc/grpc-js";
import {
  fromBinary,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type MessageShape,
} from "@bufbuild/protobuf";

/** The grpc-js path of a protobuf-es method: `/package.Service/Method`. */
export function grpcPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export function serializerOf<D extends DescMessage>(desc: D): (msg: MessageShape<D>) => Buffer {
  return (msg) => Buffer.from(toBinary(desc, msg));
}

export function deserializerOf<D extends DescMessage>(desc: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(desc, bytes);
}

/**
 * What a server handler receives instead of a message when the bytes do not decode. grpc-js
 * would answer a throwing deserializer with INTERNAL and never tell the handler; handing the
 * failure to the handler lets it close the stream with a reason and clean up its session.
 */
export class DecodeFailure {
  constructor(
    readonly typeName: string,
    readonly reason: string,
  ) {}
}

function tolerantDeserializerOf<D extends DescMessage>(desc: D): (bytes: Buffer) => MessageShape<D> | DecodeFailure {
  return (bytes) => {
    try {
      return fromBinary(desc, bytes);
    } catch (err) {
      return new DecodeFailure(desc.typeName, (err as Error).message);
    }
  };
}

/**
 * Adapts a protobuf-es v2 service descriptor to the ServiceDefinition grpc-js wants, keyed by the
 * methods' local names (`enroll`, `connect`), which are also the keys of the implementation.
 * Requests that fail to decode arrive at the handler as a DecodeFailure.
 */
export function grpcServiceDefinition(service: DescService): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: grpcPath(method),
      originalName: method.localName,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: serializerOf(method.input) as (m: unknown) => Buffer,
      requestDeserialize: tolerantDeserializerOf(method.input),
      responseSerialize: serializerOf(method.output) as (m: unknown) => Buffer,
      responseDeserialize: deserializerOf(method.output),
    };
  }
  return definition;
}
