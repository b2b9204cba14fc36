# ctest step: configure and build the consumer project against the package in PACKAGE_DIR.
file(REMOVE_RECURSE "${BINARY}")
execute_process(COMMAND "${CMAKE_COMMAND}" -S "${SOURCE}" -B "${BINARY}" -G "${GENERATOR}"
                        "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN}" "-Dedgeclient_DIR=${PACKAGE_DIR}"
                        -DCMAKE_BUILD_TYPE=RelWithDebInfo
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring the consumer failed (${rc})")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
foreach(exe consumer_dll.exe consumer_static.exe edgeclient.dll)
    if(NOT EXISTS "${BINARY}/${exe}")
        message(FATAL_ERROR "${exe} missing after the consumer build")
    endif()
endforeach()
