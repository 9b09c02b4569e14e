// File helpers shared by the .npy and .npz readers and writers (not part of the public API).
#pragma once

#include <string>
#include <string_view>

namespace convgrad::detail {

/// The whole content of `path`; throws naming `op` and the path when it cannot be read.
std::string read_file(const std::string& path, const char* op);
/// Replaces `path` with a file holding `bytes`, atomically (core/file_io.cpp): writes a new temporary file of
/// a unique name `<path>.tmp-<pid>-<suffix>` in the same folder (created with O_EXCL | O_NOFOLLOW, so it is
/// never a file or link someone else made), gives it the mode of the file it replaces (or 0666 & ~umask),
/// fsyncs it, renames it over `path` (a symlink there is replaced, not followed) and fsyncs the folder.
/// The temporary file is removed on every failure. Safe to call from several threads on one path.
void write_file_atomic(const std::string& path, std::string_view bytes, const char* op);
/// The dtype string ('<f4', '|u1', ...) of a supported .npy file's header; throws like parse_npy.
std::string npy_descr(std::string_view bytes, const std::string& what);

}  // namespace convgrad::detail
