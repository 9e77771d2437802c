// SPDX-License-Identifier: Apache-2.0
// UART receiver, 8 data bits, no parity, 1 stop bit; one byte pulse per received frame.

`default_nettype none

module uart_rx #(
  parameter int ClkHz = 200_000_000,  // clock frequency in Hz
  parameter int Baud  = 115_200,      // bit rate; ClkHz / Baud must be >= 4
  localparam int Div  = ClkHz / Baud,  // clock cycles per bit
  localparam int CntW = $clog2(Div + Div / 2 + 1)
) (
  input  wire logic       clk_i,
  input  wire logic       rst_i,          // synchronous, active high
  input  wire logic       rx_i,           // serial line, idle high (asynchronous)
  output logic            valid_o,        // one-cycle pulse: data_o holds a new byte
  output logic      [7:0] data_o,
  output logic            frame_err_o     // one-cycle pulse: stop bit was low, byte dropped
);

  // Two flops bring the asynchronous line into the clock domain; the third gives the edge.
  logic [2:0] sync_q;
  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      sync_q <= 3'b111;
    end else begin
      sync_q <= {sync_q[1:0], rx_i};
    end
  end
  logic rx_s;
  assign rx_s = sync_q[1];

  typedef enum logic [1:0] {
    Idle,
    Start,
    Data,
    Stop
  } state_e;

  state_e          state_q;
  logic [CntW-1:0] cnt_q;     // cycles left until the next sampling point
  logic [2:0]      bit_q;     // data bit being received
  logic [7:0]      shift_q;
  logic            valid_q, ferr_q;

  localparam logic [CntW-1:0] HalfBit = CntW'(Div / 2 - 1);
  localparam logic [CntW-1:0] FullBit = CntW'(Div - 1);

  always_ff @(posedge clk_i) begin
    if (rst_i) begin
      state_q <= Idle;
      cnt_q   <= '0;
      bit_q   <= '0;
      valid_q <= 1'b0;
      ferr_q  <= 1'b0;
    end else begin
      valid_q <= 1'b0;
      ferr_q  <= 1'b0;
      if (cnt_q != '0) begin
        cnt_q <= cnt_q - 1'b1;
      end
      case (state_q)
        Idle: begin
          // Falling edge: a start bit begins; sample it again in its middle.
          if (sync_q[2] && !rx_s) begin
            state_q <= Start;
            cnt_q   <= HalfBit;
          end
        end
        Start: begin
          if (cnt_q == '0) begin
            if (rx_s) begin
              state_q <= Idle;  // a glitch, not a start bit
            end else begin
              state_q <= Data;
              cnt_q   <= FullBit;
              bit_q   <= '0;
            end
          end
        end
        Data: begin
          if (cnt_q == '0) begin
            cnt_q <= FullBit;
            bit_q <= bit_q + 1'b1;
            if (bit_q == 3'd7) begin
              state_q <= Stop;
            end
          end
        end
        Stop: begin
          if (cnt_q == '0) begin
            // Back to Idle in the middle of the stop bit, so that the next start edge is seen
            // even when the sender's clock is slightly fast.
            state_q <= Idle;
            valid_q <= rx_s;
            ferr_q  <= ~rx_s;
          end
        end
        default: state_q <= Idle;
      endcase
    end
  end

  // Payload: least significant bit first.
  always_ff @(posedge clk_i) begin
    if (state_q == Data && cnt_q == '0) begin
      shift_q <= {rx_s, shift_q[7:1]};
    end
  end

  assign valid_o     = valid_q;
  assign data_o      = shift_q;
  assign frame_err_o = ferr_q;

`ifndef SYNTHESIS
  initial begin
    if (Div < 4) $fatal(1, "uart_rx: ClkHz / Baud must be >= 4, got %0d", Div);
  end
`endif

endmodule : uart_rx

`default_nettype wire
