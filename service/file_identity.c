/* File identity for caches of per-file work (see file_identity.h). */
#include "file_identity.h"

#include <string.h>

DWORD file_identity_read(HANDLE file, struct file_identity *id)
{
    BY_HANDLE_FILE_INFORMATION info;
    FILE_BASIC_INFO basic;

    memset(id, 0, sizeof(*id));
    if (!GetFileInformationByHandle(file, &info))
        return GetLastError();
    if (!GetFileInformationByHandleEx(file, FileBasicInfo, &basic, sizeof(basic)))
        return GetLastError();
    id->volume_serial = info.dwVolumeSerialNumber;
    id->index_high = info.nFileIndexHigh;
    id->index_low = info.nFileIndexLow;
    id->size = ((ULONGLONG)info.nFileSizeHigh << 32) | info.nFileSizeLow;
    id->last_write = info.ftLastWriteTime;
    id->change_time = basic.ChangeTime;
    return ERROR_SUCCESS;
}

bool file_identity_equal(const struct file_identity *a, const struct file_identity *b)
{
    return a->volume_serial == b->volume_serial && a->index_high == b->index_high &&
           a->index_low == b->index_low && a->size == b->size &&
           CompareFileTime(&a->last_write, &b->last_write) == 0 &&
           a->change_time.QuadPart == b->change_time.QuadPart;
}
