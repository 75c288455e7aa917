/* demo: `mcptrail demo`: the main job on the bundled capture, with the file sink. */
#ifndef MCPTRAIL_DEMO_H
#define MCPTRAIL_DEMO_H

int demo_main(int argc, char **argv);

#endif
