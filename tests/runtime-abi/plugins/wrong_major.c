/* A binding built against ABI 2.0: the host must refuse it, naming both versions. */
#include "common.h"

ZB_EXPORT const zb_binding_api_t* zb_binding_init(const zb_host_api_t* host, char* error,
                                                  size_t error_capacity) {
  static zb_binding_api_t api;
  (void)host;
  (void)error;
  (void)error_capacity;
  test_fill(&api, "wrong-major");
  api.abi_major = ZB_ABI_MAJOR + 1;
  api.abi_minor = 0;
  return &api;
}
