"""Image formats, one module per target: the register and memory names, model codes and
cycle tables of that target's image. The target's compiler, emulator, RTL and host all
import its layout from here, so a name is written once."""
