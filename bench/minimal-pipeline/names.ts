/** The minimal pipeline's queue and its bus channel (under the bench's Redis prefix). */
export const QUEUE = 'minimal-evaluate'
export const CHANNEL = 'minimal-alerts'
