// File helpers shared by the .npy and .npz readers and writers (not part of the public API).
#pragma once

#include <string>
#include <string_view>

namespace convgrad::detail {

/// The whole content of `path`; throws naming `op` and the path when it cannot be read.
std::string read_file(const std::string& path, const char* op);
/// Writes `bytes` to `<path>.tmp-<pid>`, fsyncs it and renames it over `path` (then fsyncs the folder).
void write_file_atomic(const std::string& path, std::string_view bytes, const char* op);
/// The dtype string ('<f4', '|u1', ...) of a supported .npy file's header; throws like parse_npy.
std::string npy_descr(std::string_view bytes, const std::string& what);

}  // namespace convgrad::detail
