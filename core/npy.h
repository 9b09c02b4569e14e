// NumPy interop: .npy (one array) and .npz (a ZIP of .npy members), read and written without Python.
//
// Readers accept .npy format versions 1, 2 and 3, C order, little-endian '<f4', '<f8' (converted to
// float32; a finite value beyond float32's range is an error, not inf), '<i8', '<i4' and '|u1' (uint8;
// converted to int64, so uint8 label maps load as class indices). Anything else (Fortran order,
// big-endian, other dtypes, object or structured arrays) and every truncated or corrupted file throws
// convgrad::Error naming the file and the problem; sizes declared in a file are checked against its
// length before anything is allocated. Writers produce version 1 headers ('<f4' / '<i8'), and .npz files
// as uncompressed ZIPs (np.load reads them). Deflated .npz members (np.savez_compressed) are read when
// convgrad is built with zlib (CONVGRAD_WITH_ZLIB), and rejected with a clear error otherwise.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace convgrad {

/// Reads a .npy file into a new contiguous tensor (float32 or int64).
Tensor load_npy(const std::string& path);
/// Writes `t` as a .npy file (version 1 header, C order); atomic like save_npz. NumPy has no bfloat16:
/// a bfloat16 tensor is written as float32 (exact; load and call to(DType::BFloat16) to restore it).
void save_npy(const std::string& path, const Tensor& t);

/// Reads every array of a .npz file, keyed by member name without the ".npy" suffix.
std::map<std::string, Tensor> load_npz(const std::string& path);
/// Writes the arrays, in order, as an uncompressed .npz. Atomic: writes a uniquely named `<path>.tmp-<pid>-*`
/// file, fsyncs it and renames it over `path`, so a crash mid-save leaves any previous file intact
/// (docs/reliability.md, "Files").
void save_npz(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& arrays);

/// The bytes of a .npy file holding `t`.
std::string npy_bytes(const Tensor& t);
/// Parses the bytes of a .npy file; `what` names the source in error messages (a path, "member x").
Tensor parse_npy(std::string_view bytes, const std::string& what);
/// The bytes of an uncompressed .npz file holding `arrays` (names must be unique and non-empty).
std::string npz_bytes(const std::vector<std::pair<std::string, Tensor>>& arrays);
/// Parses the bytes of a .npz file; `what` names the source in error messages.
std::map<std::string, Tensor> parse_npz(std::string_view bytes, const std::string& what);

/// True when deflated .npz members can be read (built with zlib).
bool npz_supports_deflate();
/// CRC-32 (the ZIP / zlib polynomial) of `bytes`, continuing from `crc` (0 to start).
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

}  // namespace convgrad
