/**
 * Import this module first in a notebook to keep tfjs's registration warnings out of its outputs.
 *
 * danfojs-node brings its own tfjs 3.21 (with tfjs-node), which shares tfjs 4.22's global engine; loading both
 * prints "Platform node has already been set" and one "kernel ... already registered" line per cpu kernel (over 300
 * lines) into the first cell's output. tfjs prints these only when its `PROD` flag is off, so this sets it before
 * anything else loads. It changes no computation: `PROD` only silences warnings.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

tf.env().set("PROD", true);

/** Whether tfjs's warnings are silenced (always true once this module is loaded). */
export const TFJS_QUIET: boolean = tf.env().getBool("PROD");
