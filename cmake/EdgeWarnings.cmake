# Warnings are errors on every compiler the project builds with.
function(edge_target_warnings target)
    if(MSVC)
        target_compile_options(${target} PRIVATE /W4 /WX /permissive- /sdl
            /wd4201 # nameless struct/union: used by Windows SDK headers themselves
        )
        target_compile_definitions(${target} PRIVATE _CRT_SECURE_NO_WARNINGS)
    else()
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
            -Wmissing-prototypes -Wpointer-arith -Wvla -Wundef
            $<$<C_COMPILER_ID:GNU>:-Wlogical-op>
        )
    endif()
endfunction()

# A product executable whose entry point is wmain (Unicode command line).  Test programs keep
# cmocka's usual main().
function(edge_unicode_entry target)
    if(MINGW)
        target_link_options(${target} PRIVATE -municode)
    endif()
endfunction()
