# ctest cleanup of the "fwdouble" fixture: `regsvr32 /u` the double, then check that both CLSIDs
# point at Wine's builtin hnetcfg.dll again and that the saved copy was removed.
#   cmake -DRUN=<wine-run> -DDLL=<fwdouble.dll> -P unregister_check.cmake
execute_process(COMMAND "${RUN}" regsvr32 /u /s "@winpath:${DLL}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "regsvr32 /u failed: ${rc}")
endif()
foreach(clsid E2B3C97F-6AE1-41AC-817A-F6F92166D7DD 2C5BC43E-3369-4C33-AB0C-BE9469677AF4)
    execute_process(
        COMMAND "${RUN}" reg query "HKLM\\Software\\Classes\\CLSID\\{${clsid}}" /s
        OUTPUT_VARIABLE out RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "reg query {${clsid}} failed: ${rc}")
    endif()
    string(TOLOWER "${out}" out)
    if(out MATCHES "fwdouble" OR NOT out MATCHES "hnetcfg\\.dll")
        message(FATAL_ERROR "{${clsid}} not restored to hnetcfg.dll:\n${out}")
    endif()
endforeach()
message(STATUS "fwdouble unregistered; Wine's hnetcfg.dll restored")
