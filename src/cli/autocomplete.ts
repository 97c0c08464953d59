import {Args, type Command} from '@oclif/core'
import {OuroCommand} from './base-command.js'

const PLUGIN = '@oclif/plugin-autocomplete'

/** The shells `ouro autocomplete` knows: oclif's plugin does bash, zsh and powershell; ouro adds fish. */
export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const

/** The SHELL argument of both commands (each declares it: oclif reads only a class's own statics). */
export const shellArgs = {
  shell: Args.string({description: 'the shell (default: the login shell, from $SHELL)', options: [...SHELLS]}),
}

/**
 * What the autocomplete commands share: a SHELL argument (default: the login shell) that also
 * takes fish, and handing every other shell to oclif's autocomplete plugin, whose commands these
 * shadow (a CLI's own commands win over its plugins').
 */
export abstract class AutocompleteCommand extends OuroCommand {
  /** The shell asked for, else the login shell's name ($SHELL), as oclif's plugin reads it. */
  protected shellOf(arg: string | undefined): string {
    return arg ?? this.config.shell
  }

  /** Runs the plugin's command with this id on the same argv (for bash, zsh and powershell). */
  protected async delegate(): Promise<void> {
    const command = this.config.plugins.get(PLUGIN)?.commands.find((c) => c.id === this.id)
    if (!command) throw new Error(`${PLUGIN} is not installed`)
    const Plugin: Command.Class = await command.load()
    await Plugin.run(this.argv, this.config)
  }
}
