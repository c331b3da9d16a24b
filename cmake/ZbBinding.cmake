# zb_add_binding(<target> SOURCES <files...> [LIBRARIES <libs...>])
#
# Builds a binding shared object against the ABI: everything hidden but zb_binding_init
# (-fvisibility=hidden plus a version script), C++ SDK and generated extensions available.
set(ZB_BINDING_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/binding.map)

function(zb_add_binding target)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${target} SHARED ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE zb_sdk ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    PREFIX "lib"
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bindings)
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${ZB_BINDING_VERSION_SCRIPT} -Wl,--no-undefined)
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${ZB_BINDING_VERSION_SCRIPT})
endfunction()
