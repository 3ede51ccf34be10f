#include "cli/commands.h"
namespace mosdat {
void AddPreflightCommand(CLI::App&, const GlobalOptions&, int*) {}
}
