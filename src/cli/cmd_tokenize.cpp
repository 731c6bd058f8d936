#include "cli/commands.h"
namespace fs::cli {
void add_tokenize_commands(CLI::App&) {}  // placeholder: the tokenizer work fills this in
}  // namespace fs::cli
