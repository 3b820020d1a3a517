#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# mhp_replay must fail on a recording that differs from what the core's
# controller does: take a committed recording, change one thing at a time
# (a value QEMU read, a register write, the eject, an _OST report) and
# demand exit status 1 with the difference named.
#
# With REFUSED.log, a recording of a refused eject of a cold-plugged DIMM
# (record-mhp.sh with MHP_EXPECT=refuse), the same for what is particular to
# it: the cold plug, the refusal and the DIMM staying.
#
# usage: test_mhp_replay_detects.sh MHP_REPLAY RECORDING.log [REFUSED.log]
set -u
# shellcheck source=../tools/replay_detects_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tools/replay_detects_lib.sh"
rd_setup "usage: test_mhp_replay_detects.sh MHP_REPLAY RECORDING.log [REFUSED.log]" 1 "$@"

# The insert event QEMU showed (flags 0x3), claimed to be absent.
expect_sed flags '0,/flags: 0x3/s//flags: 0x1/' 'the controller reads 0x3, QEMU read 0x1'
# The DIMM's address as QEMU read it, moved up by 4 GiB.
expect_sed addr '0,/addr hi: 0x1/s//addr hi: 0x2/' 'the controller reads 0x1, QEMU read 0x2'
# A different slot selected: every later access disagrees.
expect_sed selector '0,/set active slot: 0x1/s//set active slot: 0x2/' 'QEMU had slot'
# Linux never ejects: the slot still reads enabled where QEMU's was empty.
expect_sed eject '/mhp_acpi_pc_dimm_deleted/d' 'the controller reads 0x1, QEMU read 0x0'
# QEMU never says DEVICE_DELETED: the controller's eject has no match.
expect_sed deleted '/"event": "DEVICE_DELETED"/d' 'QEMU deleted 0 DIMMs, the controller ejected 1'
# An _OST status the controller did not report.
expect_sed ost '0,/"status": 132/s//"status": 133/' '_OST #2'
# No clear of the insert event: the next scan sees it still set.
expect_sed insert '/mhp_acpi_clear_insert_evt/d' 'the controller reads 0x3'
# Without the header the slot count is unknown: refused, not guessed.
expect_sed header '/^# command:/d' "no '# command:' header"

refused=${3:-}
[ -n "$refused" ] || exit $failed
rec=$refused
rd_as_recorded "the refusal recording itself"
# The refusal's _OST status as QEMU reported it, changed.
expect_sed refuse-ost '0,/"status": 130/s//"status": 131/' '_OST #2'
# The guest ejects after all, where QEMU kept the DIMM.
expect_sed refuse-eject '/OST STATUS: 0x82/a 1@1.0:mhp_acpi_pc_dimm_deleted slot[0x0] deleted' \
	'slot 0 of the controller does not hold it'
# The remove event never cleared: the controller still shows it.
expect_sed refuse-clear '/mhp_acpi_clear_remove_evt/d' 'with its remove event set'
# QEMU's cold-plugged DIMM somewhere else than where the core puts it.
expect_sed cold-addr 's/"addr": 4294967296/"addr": 5368709120/' 'the core places it at 0x100000000'
# Said to be hotplugged, though it is on the command line.
expect_sed cold-hotplugged 's/"hotplugged": false/"hotplugged": true/' 'but QEMU says hotplugged'
# Without the command line's pc-dimm the boot scan finds an empty slot.
expect_sed cold-missing 's/ -device pc-dimm,id=cdimm1,memdev=cold1//' 'the controller reads 0x0, QEMU read 0x1'
exit $failed
