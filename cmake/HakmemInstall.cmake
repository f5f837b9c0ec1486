# Install rules: the shared and static libraries, the header, a CMake package
# (find_package(hakmem CONFIG) -> hakmem::hakmem, hakmem::hakmem_static) and
# hakmem.pc. Included by the top-level CMakeLists.txt after core/.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# libhakmem.so.MAJOR is the soname; libhakmem.so stays in the build tree as
# the link-time name (a symlink), where the README, the tests and compare/
# preload it.
set_target_properties(hakmem PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
# The static library is the core without the override layer: a program that
# links it calls the hk_* API and keeps its own malloc.
set_target_properties(hakmem_core PROPERTIES OUTPUT_NAME hakmem EXPORT_NAME hakmem_static)

# include/hakmem.h carries the version as macros for programs that include
# it; project() is where the version is set, and the two must agree.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/hakmem.h version_lines REGEX "^#define HAKMEM_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
set(header_version "")
foreach(part MAJOR MINOR PATCH)
  string(REGEX MATCH "HAKMEM_VERSION_${part} ([0-9]+)" m "${version_lines}")
  list(APPEND header_version "${CMAKE_MATCH_1}")
endforeach()
list(JOIN header_version "." header_version)
string(REGEX MATCH "HAKMEM_VERSION_STRING \"([^\"]*)\"" m "${version_lines}")
if(NOT header_version STREQUAL PROJECT_VERSION OR NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/hakmem.h has version ${header_version} (string '${CMAKE_MATCH_1}'), "
    "project() in CMakeLists.txt has ${PROJECT_VERSION}: change the HAKMEM_VERSION_* macros to match")
endif()

# The source tree's include directories (include/ and the repo root for the
# tests' internal headers) are for the build tree only; an installed consumer
# sees include/ under the prefix.
foreach(t hakmem hakmem_core)
  get_target_property(dirs ${t} INTERFACE_INCLUDE_DIRECTORIES)
  set(build_dirs "")
  foreach(d IN LISTS dirs)
    list(APPEND build_dirs "$<BUILD_INTERFACE:${d}>")
  endforeach()
  set_property(TARGET ${t} PROPERTY INTERFACE_INCLUDE_DIRECTORIES
    ${build_dirs} "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
endforeach()

install(TARGETS hakmem EXPORT hakmem-targets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development)
install(TARGETS hakmem_core EXPORT hakmem-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
install(FILES ${PROJECT_SOURCE_DIR}/include/hakmem.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development)

set(HAKMEM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/hakmem)
install(EXPORT hakmem-targets NAMESPACE hakmem:: DESTINATION ${HAKMEM_CMAKE_DIR}
  FILE hakmem-targets.cmake COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hakmem-config.cmake.in
  ${PROJECT_BINARY_DIR}/hakmem-config.cmake INSTALL_DESTINATION ${HAKMEM_CMAKE_DIR})
# Until 1.0 a minor release may change the ABI (and the soname with it).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hakmem-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hakmem-config.cmake ${PROJECT_BINARY_DIR}/hakmem-config-version.cmake
  DESTINATION ${HAKMEM_CMAKE_DIR} COMPONENT development)

# hakmem.pc locates the prefix from its own directory (${pcfiledir}), so it is
# right wherever the tree is installed (cmake --install --prefix, DESTDIR,
# the Debian package).
file(RELATIVE_PATH HAKMEM_PC_TO_PREFIX
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HAKMEM_PC_TO_PREFIX "${HAKMEM_PC_TO_PREFIX}")
file(RELATIVE_PATH HAKMEM_PC_LIBDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH HAKMEM_PC_INCLUDEDIR ${CMAKE_INSTALL_PREFIX} ${CMAKE_INSTALL_FULL_INCLUDEDIR})
configure_file(${PROJECT_SOURCE_DIR}/cmake/hakmem.pc.in ${PROJECT_BINARY_DIR}/hakmem.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hakmem.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

# The installed library as the launcher should preload it: the soname file
# (not the development symlink), as an absolute path and relative to bindir.
set(HAKMEM_INSTALLED_LIB ${CMAKE_INSTALL_FULL_LIBDIR}/libhakmem.so.${PROJECT_VERSION_MAJOR})
file(RELATIVE_PATH HAKMEM_LIB_FROM_BINDIR ${CMAKE_INSTALL_FULL_BINDIR} ${HAKMEM_INSTALLED_LIB})
