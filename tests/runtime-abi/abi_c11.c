/* Compiled as -std=c11 -pedantic -Wall -Wextra -Werror: the ABI header needs nothing else. */
#include <zb/abi.h>

int zb_abi_c11_check(void) { return (int)sizeof(zb_frame_t); }
