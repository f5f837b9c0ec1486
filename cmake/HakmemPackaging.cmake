# CPack: `cpack -G DEB` in a build tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr makes hakmem_<version>_<arch>.deb with the
# library, the header, the CMake and pkg-config files, the launcher and the
# man pages (one package: hakmem is one library and one tool).
set(CPACK_PACKAGE_NAME hakmem)
set(CPACK_PACKAGE_VENDOR "hakmem developers")
set(CPACK_PACKAGE_CONTACT "hakmem developers <hakmem@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "malloc replacement with a speed-first and a memory-lean mode")
set(CPACK_PACKAGE_DESCRIPTION "hakmem replaces malloc, free and operator new/delete, by LD_PRELOAD or by
linking libhakmem.so. FAST mode keeps memory resident for speed; LEAN mode
(HAKMEM_MEM_LEAN=1) releases idle memory to the kernel. The hakmem launcher
runs a program under it and compares allocators on that program.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# libc6's version from the library's symbol versions (dpkg-shlibdeps), a
# shlibs file and the ldconfig calls for libhakmem.so.MAJOR.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
# What the launcher needs at run time: launcher/CMakeLists.txt appends
# Debian package names to the global properties HAKMEM_DEB_DEPENDS and
# HAKMEM_DEB_RECOMMENDS (set_property(GLOBAL APPEND PROPERTY ...)).
get_property(deb_depends GLOBAL PROPERTY HAKMEM_DEB_DEPENDS)
get_property(deb_recommends GLOBAL PROPERTY HAKMEM_DEB_RECOMMENDS)
if(deb_depends)
  list(JOIN deb_depends ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
endif()
if(deb_recommends)
  list(JOIN deb_recommends ", " CPACK_DEBIAN_PACKAGE_RECOMMENDS)
endif()
include(CPack)
