/* The only translation unit of fwdouble.dll that instantiates the netfw.h GUIDs. */
#define CONST_VTABLE
#include <windows.h>
#include <initguid.h>
#include <ole2.h>
#include <netfw.h>
