#include "cli/commands.h"
namespace fs::cli {
void add_template_command(CLI::App&) {}  // placeholder: the chat-template work fills this in
}  // namespace fs::cli
