/* A binding built against a newer minor than the host's: it may call what the host lacks. */
#include "common.h"

ZB_EXPORT const zb_binding_api_t* zb_binding_init(const zb_host_api_t* host, char* error,
                                                  size_t error_capacity) {
  static zb_binding_api_t api;
  (void)host;
  (void)error;
  (void)error_capacity;
  test_fill(&api, "newer-minor");
  api.abi_minor = ZB_ABI_MINOR + 1;
  return &api;
}
