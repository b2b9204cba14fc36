/*
 * The one translation unit that instantiates the netfw GUIDs.  mingw-w64's netfw.h declares
 * CLSID_NetFwPolicy2, IID_INetFwRule2/3 etc. with DEFINE_GUID only, and its libuuid does not
 * carry them, so exactly one TU must include <initguid.h> before <netfw.h>.  The definitions are
 * selectany, so another component doing the same does not clash.
 */
#include <windows.h>
#include <initguid.h>
#include <ole2.h>
#include <netfw.h>
