// A built-in 5x7 bitmap font, enough for plot titles, tick labels and legends (no font library).
#pragma once

#include <string_view>

#include "image.h"

namespace convgrad::example {

/// Height of a line of text at `scale` (7 rows plus one of spacing, times scale).
int text_height(int scale = 1);
/// Width in pixels of `text` drawn at `scale` (6 columns per character, last gap excluded).
int text_width(std::string_view text, int scale = 1);
/// Draws `text` with its top-left corner at (x, y). Letters print as capitals; characters
/// without a glyph print as a small box so nothing silently disappears.
void draw_text(Image& image, int x, int y, std::string_view text, Rgb color, int scale = 1);

}  // namespace convgrad::example
