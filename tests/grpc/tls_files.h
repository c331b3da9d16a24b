// A throwaway CA, server and client certificate for the TLS tests, made with the openssl
// command into the build directory at test time (nothing secret is ever committed).
#pragma once

#include <string>

namespace zb::grpc_test {

struct TlsFiles {
  std::string ca;           // CA certificate (PEM)
  std::string server_cert;  // for "localhost" and 127.0.0.1, signed by the CA
  std::string server_key;
  std::string client_cert;  // client certificate signed by the CA
  std::string client_key;
  std::string other_ca;  // a CA that signed none of them
  std::string error;     // set when generation failed
};

// Generates the files once per test process; later calls return the same paths.
const TlsFiles& tlsFiles();

}  // namespace zb::grpc_test
