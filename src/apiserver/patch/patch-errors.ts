/**
 * The answers kube-apiserver gives when a patch cannot be applied. They are not all the obvious
 * ones: upstream (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/patch.go, release-1.30)
 * answers a JSON patch that fails to apply with a 422 whose message hides the cause, and passes most
 * strategic-merge errors through as plain Go errors, which its responsewriters turn into a 500 with
 * no reason. Clients (kubectl's "Error from server: ...") show exactly these, so we keep them.
 */
import { ApiError, errors } from '../../api/errors.js';

/** NewGenericServerResponse(422, ...) discards the server message for this generic one. */
export const GENERIC_422_MESSAGE = 'the server rejected our request due to an error in our request';

/**
 * A 422 Invalid with upstream's generic message. `detail` keeps the real cause for our logs; it is
 * not sent, because upstream does not send it either.
 */
export class PatchUnprocessableError extends ApiError {
  constructor(readonly detail: string) {
    super(422, 'Invalid', GENERIC_422_MESSAGE, {});
    this.name = 'PatchUnprocessableError';
  }
}

/**
 * What upstream's ErrorToAPIStatus makes of an error that is not a metav1.Status: code 500, reason
 * StatusReasonUnknown (""), which is omitted from the JSON, and the raw message.
 */
export class PatchServerError extends ApiError {
  constructor(message: string) {
    super(500, '', message);
    this.name = 'PatchServerError';
  }

  override toStatus() {
    const s = super.toStatus();
    delete s.reason;
    return s;
  }
}

export const patchErrors = {
  badRequest: (message: string) => errors.badRequest(message),
  unprocessable: (detail: string) => new PatchUnprocessableError(detail),
  server: (message: string) => new PatchServerError(message),
};
