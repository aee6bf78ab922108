/**
 * How a store handler answers: early-exit rejections raised at any depth, the route wrapper that
 * turns them back into responses, and JSON answers.
 *
 * Everything here is synchronous and free of I/O, so a store stays a plain function of its
 * state and the request.
 *
 * @since 0.1.0
 */
import { type ApiRequest, type ApiResponse, type AppHandle, apiError, type Route } from "../Api.ts"

/**
 * A response raised from deep inside a handler; `route` turns it back into the answer.
 *
 * @since 0.1.0
 */
export class Rejection {
  readonly response: ApiResponse
  constructor(response: ApiResponse) {
    this.response = response
  }
}

/**
 * Stops the current handler with `response`.
 *
 * @since 0.1.0
 */
export const reject = (response: ApiResponse): never => {
  throw new Rejection(response)
}

/**
 * Stops the current handler with the server's `{ error, code, status }` envelope.
 *
 * @since 0.1.0
 */
export const fail = (status: number, code: string, message: string): never => reject(apiError(status, code, message))

/**
 * Stops the current handler with a 400 `invalid_input`.
 *
 * @since 0.1.0
 */
export const invalid = (message: string): never => fail(400, "invalid_input", message)

/**
 * Builds a route whose handler may `reject` at any depth.
 *
 * @since 0.1.0
 */
export const route = (
  method: Route["method"],
  path: string,
  handle: (request: ApiRequest, app: AppHandle) => ApiResponse
): Route => ({
  method,
  path,
  handle: (request, app) => {
    try {
      return handle(request, app)
    } catch (error) {
      if (error instanceof Rejection) return error.response
      throw error
    }
  }
})

/**
 * A 200 JSON answer.
 *
 * @since 0.1.0
 */
export const json = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): ApiResponse =>
  headers === undefined ? { status, json: body } : { status, json: body, headers }
