/** A command line that cannot be understood: exit code 2 with the command's usage text. */
import { HcikitError } from '../../hci/errors.ts'

export class UsageError extends HcikitError {
  override name = 'UsageError'
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super('USAGE', 'usage', message, { hint: usage })
  }
}
