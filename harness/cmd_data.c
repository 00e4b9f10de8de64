/* bench data: placeholder until the data module lands. */
#include "cmd.h"

int cmd_data(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cmd_error("data: not implemented yet");
    return CMD_FAIL;
}
