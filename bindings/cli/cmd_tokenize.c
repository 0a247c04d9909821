#include "cli.h"

#include <stdio.h>

int cmd_tokenize(int argc, char **argv)
{
    (void)argc, (void)argv;
    return cli_usage("tokenize", "not built yet");
}
