// Boost.JSON compiled into the engine (header-only mode): no shared Boost
// library is needed at run time.
#include <boost/json/src.hpp>
