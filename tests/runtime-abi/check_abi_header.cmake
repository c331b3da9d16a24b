# Fails when runtime-abi/include/zb/abi.h changes without a version bump.
# The baseline file holds "<major>.<minor> <sha256 of abi.h>"; when you change the header,
# bump ZB_ABI_MINOR (or ZB_ABI_MAJOR for a breaking change) and record the new pair.
file(READ ${BASELINE} baseline)
string(STRIP "${baseline}" baseline)
string(REGEX MATCH "^([0-9]+\\.[0-9]+) ([0-9a-f]+)" _ "${baseline}")
set(base_version ${CMAKE_MATCH_1})
set(base_hash ${CMAKE_MATCH_2})
file(STRINGS ${HEADER} major_line REGEX "^#define ZB_ABI_MAJOR ")
file(STRINGS ${HEADER} minor_line REGEX "^#define ZB_ABI_MINOR ")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" major "${major_line}")
string(REGEX REPLACE ".* ([0-9]+)$" "\\1" minor "${minor_line}")
file(SHA256 ${HEADER} hash)
set(version "${major}.${minor}")
if(hash STREQUAL base_hash AND version STREQUAL base_version)
  message(STATUS "abi.h matches the ABI ${version} baseline")
elseif(version STREQUAL base_version)
  message(FATAL_ERROR "abi.h changed but ZB_ABI_MINOR/MAJOR still say ${version}: bump the version, "
    "then write \"<new version> ${hash}\" into ${BASELINE}")
else()
  message(FATAL_ERROR "abi.h is now ABI ${version} but the baseline records ${base_version}: "
    "write \"${version} ${hash}\" into ${BASELINE} (and say what changed in docs/abi.md)")
endif()
