// The one module the console imports dynamically for browser audio (see static/sip.js).
import JsSIP from "jssip";

export default JsSIP;
