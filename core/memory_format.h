// Memory formats: how the elements of a 4-D (N, C, H, W) tensor are ordered in storage, PyTorch's
// torch.memory_format. The logical shape and every index stay (N, C, H, W); only the strides differ,
// so indexing, printing, .npy/.npz files and every op see the same values in either format.
//   Contiguous   - row-major strides (N, C, H, W order in memory; "NCHW").
//   ChannelsLast - the channels innermost (N, H, W, C order in memory; "NHWC"), 4-D tensors only.
//   Preserve     - for copies and factories "like" a tensor: keep its format (see suggest_memory_format).
#pragma once

#include "core/shape.h"

namespace convgrad {

enum class MemoryFormat { Contiguous, ChannelsLast, Preserve };

/// PyTorch's spelling: "contiguous_format", "channels_last", "preserve_format".
const char* memory_format_name(MemoryFormat format);

/// Parses PyTorch's spelling or the short forms "contiguous"/"nchw" and "nhwc"; throws convgrad::Error
/// naming the accepted spellings otherwise (for command-line flags).
MemoryFormat parse_memory_format(const std::string& name);

/// Dense strides of `shape` in `format` (Contiguous or ChannelsLast). ChannelsLast needs a 4-D shape;
/// Preserve is refused (it names no layout by itself). Throws convgrad::Error otherwise.
Shape strides_for(const Shape& shape, MemoryFormat format);

/// True when `strides` are the dense strides of `shape` in `format` (Contiguous or ChannelsLast),
/// ignoring size-1 dimensions as PyTorch does. A 4-D tensor with C == 1 or H == W == 1 is both.
bool strides_match(const Shape& shape, const Shape& strides, MemoryFormat format);

/// PyTorch's reading of a 4-D tensor's strides: ChannelsLast when they order C innermost, then W, H
/// and N (ambiguous cases such as N x 1 x 1 x 1 count as Contiguous); Contiguous for everything else.
MemoryFormat format_of_strides(const Shape& shape, const Shape& strides);

}  // namespace convgrad
