# Provides the target cmocka::cmocka for tests.
#
# Host builds use the system's cmocka (Debian: libcmocka-dev).  Cross and MSVC builds build cmocka
# from source with the same toolchain as the project.  The source comes, in order of preference, from
#   EDGE_CMOCKA_SOURCE_DIR  an unpacked cmocka source tree (`.ci/setup` fills one from Debian's
#                           source package, offline-friendly), or
#   EDGE_CMOCKA_URL + EDGE_CMOCKA_SHA256  a release tarball checked against its SHA-256 (Windows CI).
include_guard(GLOBAL)

set(EDGE_CMOCKA_SOURCE_DIR "" CACHE PATH "Unpacked cmocka source tree (for cross builds)")
set(EDGE_CMOCKA_URL "https://cmocka.org/files/1.1/cmocka-1.1.5.tar.xz" CACHE STRING
    "cmocka release tarball used when EDGE_CMOCKA_SOURCE_DIR is empty")
# SHA-256 of cmocka-1.1.5.tar.xz; identical to Debian's cmocka_1.1.5.orig.tar.xz.
set(EDGE_CMOCKA_SHA256 "f0ccd8242d55e2fd74b16ba518359151f6f8383ff8aef4976e48393f77bba8b6" CACHE STRING
    "SHA-256 of EDGE_CMOCKA_URL")

if(NOT CMAKE_CROSSCOMPILING AND NOT WIN32)
    find_path(CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)
    find_library(CMOCKA_LIBRARY cmocka REQUIRED)
    add_library(cmocka::cmocka UNKNOWN IMPORTED)
    set_target_properties(cmocka::cmocka PROPERTIES
        IMPORTED_LOCATION "${CMOCKA_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${CMOCKA_INCLUDE_DIR}")
    return()
endif()

include(ExternalProject)
set(_cmocka_prefix "${CMAKE_BINARY_DIR}/deps/cmocka")
set(_cmocka_install "${_cmocka_prefix}/install")
# On Debian the source tree can be fetched offline from the distribution's source package.
if(EDGE_CMOCKA_SOURCE_DIR AND NOT EXISTS "${EDGE_CMOCKA_SOURCE_DIR}/src/cmocka.c"
   AND CMAKE_HOST_UNIX AND EXISTS /usr/bin/apt-get)
    execute_process(
        COMMAND "${PROJECT_SOURCE_DIR}/cmake/fetch-cmocka-source" "${EDGE_CMOCKA_SOURCE_DIR}"
        RESULT_VARIABLE _fetch_rc)
    if(NOT _fetch_rc EQUAL 0)
        message(WARNING "Could not fetch cmocka from Debian's source package; using the URL")
    endif()
endif()
if(EDGE_CMOCKA_SOURCE_DIR AND EXISTS "${EDGE_CMOCKA_SOURCE_DIR}/src/cmocka.c")
    set(_cmocka_source SOURCE_DIR "${EDGE_CMOCKA_SOURCE_DIR}")
else()
    set(_cmocka_source URL "${EDGE_CMOCKA_URL}" URL_HASH "SHA256=${EDGE_CMOCKA_SHA256}"
        DOWNLOAD_EXTRACT_TIMESTAMP TRUE)
endif()
if(MSVC)
    set(_cmocka_lib "${_cmocka_install}/lib/cmocka-static.lib")
else()
    set(_cmocka_lib "${_cmocka_install}/lib/libcmocka-static.a")
endif()

ExternalProject_Add(cmocka_build
    ${_cmocka_source}
    PREFIX "${_cmocka_prefix}"
    INSTALL_DIR "${_cmocka_install}"
    CMAKE_ARGS
        -DCMAKE_INSTALL_PREFIX=<INSTALL_DIR>
        -DCMAKE_INSTALL_LIBDIR=lib
        -DCMAKE_BUILD_TYPE=Release
        -DWITH_STATIC_LIB=ON
        -DWITH_EXAMPLES=OFF
        -DUNIT_TESTING=OFF
        $<$<BOOL:${CMAKE_TOOLCHAIN_FILE}>:-DCMAKE_TOOLCHAIN_FILE=${CMAKE_TOOLCHAIN_FILE}>
        -DCMAKE_MSVC_RUNTIME_LIBRARY=${CMAKE_MSVC_RUNTIME_LIBRARY}
    BUILD_BYPRODUCTS "${_cmocka_lib}"
)
file(MAKE_DIRECTORY "${_cmocka_install}/include")
add_library(cmocka::cmocka STATIC IMPORTED GLOBAL)
set_target_properties(cmocka::cmocka PROPERTIES
    IMPORTED_LOCATION "${_cmocka_lib}"
    INTERFACE_INCLUDE_DIRECTORIES "${_cmocka_install}/include")
add_dependencies(cmocka::cmocka cmocka_build)
