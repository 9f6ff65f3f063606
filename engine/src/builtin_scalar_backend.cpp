// The scalar backend linked into the engine: the floor that works with no
// plugin files at all.  Same source as plugins/scalar, without the manifest
// and with its own entry name.
#include "../../plugins/scalar/scalar_backend.cpp"
