// libolm for Swift (Debian: libolm-dev): the account and Olm session API, and Megolm's inbound and
// outbound group sessions. Only the Matrix adapter's libolm backend imports it.
#ifndef FABRIQUE_COLM_SHIM_H
#define FABRIQUE_COLM_SHIM_H

#include <olm/olm.h>
#include <olm/inbound_group_session.h>
#include <olm/outbound_group_session.h>

#endif
