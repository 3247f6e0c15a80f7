"""grpc.health.v1 messages for the reference clients, built from a
descriptor declared here (the protobuf library does the encoding), so the
clients need only python3-grpcio and python3-protobuf, no protoc step.

The schema is grpc/health/v1/health.proto's Check/Watch part (H-SVC-2).
"""

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
STATUS_NAMES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]
CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"


def _classes():
    f = descriptor_pb2.FileDescriptorProto(name="hc_clients/health.proto",
                                           package="grpc.health.v1", syntax="proto3")
    req = f.message_type.add(name="HealthCheckRequest")
    req.field.add(name="service", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    resp = f.message_type.add(name="HealthCheckResponse")
    enum = resp.enum_type.add(name="ServingStatus")
    for number, name in enumerate(STATUS_NAMES):
        enum.value.add(name=name, number=number)
    resp.field.add(name="status", number=1, type=_F.TYPE_ENUM, label=_F.LABEL_OPTIONAL,
                   type_name=".grpc.health.v1.HealthCheckResponse.ServingStatus")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    return (factory.GetPrototype(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckRequest")),
            factory.GetPrototype(pool.FindMessageTypeByName("grpc.health.v1.HealthCheckResponse")))


HealthCheckRequest, HealthCheckResponse = _classes()
SERVING = 1
SERVICE_UNKNOWN = 3


def check_callable(channel):
    return channel.unary_unary(CHECK, request_serializer=HealthCheckRequest.SerializeToString,
                               response_deserializer=HealthCheckResponse.FromString)
