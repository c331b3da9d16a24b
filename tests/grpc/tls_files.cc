#include "tls_files.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace zb::grpc_test {
namespace {

bool run(const std::string& command, std::string& error) {
  const std::string quiet = command + " >/dev/null 2>&1";
  if (std::system(quiet.c_str()) != 0) {
    error = "failed: " + command;
    return false;
  }
  return true;
}

TlsFiles generate() {
  TlsFiles files;
  const std::filesystem::path dir = std::filesystem::path(ZB_BINARY_DIR) / "tests" / "grpc" / "tls";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string d = dir.string() + "/";
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  {
    std::ofstream(d + "server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                       "basicConstraints=CA:FALSE\n"
                                       "extendedKeyUsage=serverAuth\n";
    std::ofstream(d + "client.ext") << "basicConstraints=CA:FALSE\n"
                                       "extendedKeyUsage=clientAuth\n";
  }
  const bool ok =
      run("openssl req -x509 " + key + " -days 2 -subj '/CN=zb test CA' -keyout " + d +
              "ca.key -out " + d + "ca.crt",
          files.error) &&
      run("openssl req -x509 " + key + " -days 2 -subj '/CN=zb other CA' -keyout " + d +
              "other.key -out " + d + "other.crt",
          files.error) &&
      run("openssl req " + key + " -subj '/CN=localhost' -keyout " + d + "server.key -out " + d +
              "server.csr",
          files.error) &&
      run("openssl x509 -req -days 2 -in " + d + "server.csr -CA " + d + "ca.crt -CAkey " + d +
              "ca.key -CAcreateserial -extfile " + d + "server.ext -out " + d + "server.crt",
          files.error) &&
      run("openssl req " + key + " -subj '/CN=zb test client' -keyout " + d + "client.key -out " +
              d + "client.csr",
          files.error) &&
      run("openssl x509 -req -days 2 -in " + d + "client.csr -CA " + d + "ca.crt -CAkey " + d +
              "ca.key -CAcreateserial -extfile " + d + "client.ext -out " + d + "client.crt",
          files.error);
  if (ok) {
    files.ca = d + "ca.crt";
    files.server_cert = d + "server.crt";
    files.server_key = d + "server.key";
    files.client_cert = d + "client.crt";
    files.client_key = d + "client.key";
    files.other_ca = d + "other.crt";
  }
  return files;
}

}  // namespace

const TlsFiles& tlsFiles() {
  static std::once_flag once;
  static TlsFiles files;
  std::call_once(once, [] { files = generate(); });
  return files;
}

}  // namespace zb::grpc_test
