// The process entry (package.json bin; scripts/bin/tollgate runs its bundle).
import './command.ts';
