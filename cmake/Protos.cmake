# Generates C++ for every .proto under protos/ into one static library, mosdat_protos.
set(MOSDAT_PROTO_ROOT ${CMAKE_SOURCE_DIR}/protos)
file(GLOB_RECURSE MOSDAT_PROTO_FILES CONFIGURE_DEPENDS ${MOSDAT_PROTO_ROOT}/*.proto)
set(MOSDAT_PROTO_OUT ${CMAKE_BINARY_DIR}/protos)
file(MAKE_DIRECTORY ${MOSDAT_PROTO_OUT})
find_program(PROTOC_EXECUTABLE protoc REQUIRED)
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

set(_proto_srcs)
foreach(proto ${MOSDAT_PROTO_FILES})
  file(RELATIVE_PATH rel ${MOSDAT_PROTO_ROOT} ${proto})
  string(REGEX REPLACE "\\.proto$" "" base ${rel})
  set(outs ${MOSDAT_PROTO_OUT}/${base}.pb.cc ${MOSDAT_PROTO_OUT}/${base}.pb.h
           ${MOSDAT_PROTO_OUT}/${base}.grpc.pb.cc ${MOSDAT_PROTO_OUT}/${base}.grpc.pb.h)
  add_custom_command(
    OUTPUT ${outs}
    COMMAND ${PROTOC_EXECUTABLE} -I ${MOSDAT_PROTO_ROOT}
            --cpp_out=${MOSDAT_PROTO_OUT} --grpc_out=${MOSDAT_PROTO_OUT}
            --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} ${proto}
    DEPENDS ${proto}
    COMMENT "protoc ${rel}")
  list(APPEND _proto_srcs ${MOSDAT_PROTO_OUT}/${base}.pb.cc ${MOSDAT_PROTO_OUT}/${base}.grpc.pb.cc)
endforeach()

add_library(mosdat_protos STATIC ${_proto_srcs})
target_include_directories(mosdat_protos SYSTEM PUBLIC ${MOSDAT_PROTO_OUT})
target_link_libraries(mosdat_protos PUBLIC gRPC::grpc++ protobuf::libprotobuf)
target_compile_options(mosdat_protos PRIVATE -w)
